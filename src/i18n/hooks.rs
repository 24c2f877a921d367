//! Outgoing webhooks: the hooks page, and why a hook cannot be added (`HookRule`).

use crate::protocol::hooks::{CallFailure, DeliveryStatus, HookEvent};
use crate::protocol::problem::HookRule;

/// One language's strings of the hooks page.
pub struct HooksText {
    pub nav: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub url_label: &'static str,
    pub url_hint: &'static str,
    pub events_label: &'static str,
    pub event: fn(HookEvent) -> &'static str,
    pub add: &'static str,
    pub adding: &'static str,
    /// Above the secret, shown once after adding.
    pub secret_note: &'static str,
    pub empty: &'static str,
    pub events_of: &'static str,
    pub created: &'static str,
    pub send_test: &'static str,
    pub test_queued: &'static str,
    pub delete: &'static str,
    /// `Delete the webhook to {url}`, for screen readers.
    pub delete_label: fn(&str) -> String,
    pub deliveries: &'static str,
    pub no_deliveries: &'static str,
    pub col_when: &'static str,
    pub col_event: &'static str,
    pub col_job: &'static str,
    pub col_status: &'static str,
    pub col_attempts: &'static str,
    pub col_answer: &'static str,
    pub col_next_try: &'static str,
    pub status: fn(DeliveryStatus) -> &'static str,
    /// Why a call got no answer (the technical rest is in the cell's tooltip).
    pub failure: fn(CallFailure) -> &'static str,
}

/// English.
pub static EN_HOOKS: HooksText = HooksText {
    nav: "Webhooks",
    title: "Outgoing webhooks",
    intro: "jobpulse calls these addresses when your jobs end. Every call is a JSON POST signed with the hook's secret (X-Jobpulse-Signature: t=…,v1=…, an HMAC-SHA256 of \"t.body\"), and a call that is not answered 2xx is tried again after growing pauses.",
    url_label: "Address (URL)",
    url_hint: "An https:// address that answers 2xx within 10 seconds.",
    events_label: "Call it when a job…",
    event: |event| match event {
        HookEvent::JobCompleted => "completed",
        HookEvent::JobFailed => "failed",
        HookEvent::JobCancelled => "was cancelled",
        HookEvent::JobPaused => "was paused",
        HookEvent::Ping => "test",
    },
    add: "Add webhook",
    adding: "Adding…",
    secret_note: "Webhook added. Copy its secret now: it is shown only this once, and you need it to check the signatures.",
    empty: "No webhooks yet: add one to hear about your jobs' ends in your own systems.",
    events_of: "Events",
    created: "Added",
    send_test: "Send a test",
    test_queued: "A test call is on its way: it appears below.",
    delete: "Delete",
    delete_label: |url| format!("Delete the webhook to {url}"),
    deliveries: "Latest calls",
    no_deliveries: "No calls yet.",
    col_when: "When",
    col_event: "Event",
    col_job: "Job",
    col_status: "Status",
    col_attempts: "Tries",
    col_answer: "Answer",
    col_next_try: "Next try",
    status: |status| match status {
        DeliveryStatus::Pending => "Pending",
        DeliveryStatus::Delivered => "Delivered",
        DeliveryStatus::Failed => "Failed",
    },
    failure: |failure| match failure {
        CallFailure::Timeout => "No answer in time",
        CallFailure::Unreachable => "Could not connect",
        CallFailure::Blocked => "Address on the server's own network",
        CallFailure::SecretLost => "Secret unreadable: add the hook again",
    },
};

/// Spanish.
pub static ES_HOOKS: HooksText = HooksText {
    nav: "Webhooks",
    title: "Webhooks salientes",
    intro: "jobpulse llama a estas direcciones cuando tus trabajos terminan. Cada llamada es un POST JSON firmado con el secreto del webhook (X-Jobpulse-Signature: t=…,v1=…, un HMAC-SHA256 de \"t.cuerpo\"), y una llamada que no recibe un 2xx se repite tras pausas cada vez más largas.",
    url_label: "Dirección (URL)",
    url_hint: "Una dirección https:// que responda 2xx en menos de 10 segundos.",
    events_label: "Llamarla cuando un trabajo…",
    event: |event| match event {
        HookEvent::JobCompleted => "se completa",
        HookEvent::JobFailed => "falla",
        HookEvent::JobCancelled => "se cancela",
        HookEvent::JobPaused => "se pausa",
        HookEvent::Ping => "prueba",
    },
    add: "Añadir webhook",
    adding: "Añadiendo…",
    secret_note: "Webhook añadido. Copia su secreto ahora: solo se muestra esta vez, y lo necesitas para comprobar las firmas.",
    empty: "Aún no hay webhooks: añade uno para enterarte en tus propios sistemas de cuándo terminan tus trabajos.",
    events_of: "Eventos",
    created: "Añadido",
    send_test: "Enviar una prueba",
    test_queued: "Una llamada de prueba está en camino: aparece abajo.",
    delete: "Eliminar",
    delete_label: |url| format!("Eliminar el webhook a {url}"),
    deliveries: "Últimas llamadas",
    no_deliveries: "Aún no hay llamadas.",
    col_when: "Cuándo",
    col_event: "Evento",
    col_job: "Trabajo",
    col_status: "Estado",
    col_attempts: "Intentos",
    col_answer: "Respuesta",
    col_next_try: "Próximo intento",
    status: |status| match status {
        DeliveryStatus::Pending => "Pendiente",
        DeliveryStatus::Delivered => "Entregada",
        DeliveryStatus::Failed => "Fallida",
    },
    failure: |failure| match failure {
        CallFailure::Timeout => "Sin respuesta a tiempo",
        CallFailure::Unreachable => "No se pudo conectar",
        CallFailure::Blocked => "Dirección en la red del propio servidor",
        CallFailure::SecretLost => "Secreto ilegible: vuelve a añadir el webhook",
    },
};

/// English words for a hook rule.
pub(super) fn en_rule(rule: &HookRule) -> String {
    match rule {
        HookRule::UrlEmpty => "Give the address (URL) jobpulse should call.".into(),
        HookRule::UrlTooLong { max } => {
            format!("The address is at most {max} characters long.")
        }
        HookRule::NotUrl { value } => {
            format!("The address must start with http:// or https:// (got \"{value}\").")
        }
        HookRule::PrivateAddress { value } => format!(
            "\"{value}\" is on the server's own network, which webhooks may not call; use a public address."
        ),
        HookRule::NoEvents => "Choose at least one event to be called about.".into(),
        HookRule::UnknownEvent { got } => format!(
            "\"{got}\" is not an event jobpulse calls about: use job.completed, job.failed, job.cancelled or job.paused."
        ),
        HookRule::TooMany { max } => {
            format!("A workspace has at most {max} webhooks: delete one first.")
        }
    }
}

/// Spanish words for a hook rule.
pub(super) fn es_rule(rule: &HookRule) -> String {
    match rule {
        HookRule::UrlEmpty => "Indica la dirección (URL) a la que jobpulse debe llamar.".into(),
        HookRule::UrlTooLong { max } => {
            format!("La dirección tiene como mucho {max} caracteres.")
        }
        HookRule::NotUrl { value } => {
            format!("La dirección debe empezar por http:// o https:// (se recibió «{value}»).")
        }
        HookRule::PrivateAddress { value } => format!(
            "«{value}» está en la red del propio servidor, a la que los webhooks no pueden llamar; usa una dirección pública."
        ),
        HookRule::NoEvents => "Elige al menos un evento por el que llamar.".into(),
        HookRule::UnknownEvent { got } => format!(
            "«{got}» no es un evento por el que jobpulse llame: usa job.completed, job.failed, job.cancelled o job.paused."
        ),
        HookRule::TooMany { max } => {
            format!("Un espacio de trabajo tiene como mucho {max} webhooks: elimina uno antes.")
        }
    }
}
