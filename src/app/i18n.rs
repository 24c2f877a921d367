//! Every string the UI shows, per locale: add a language by adding one `Text` table.

use leptos::prelude::*;

use crate::protocol::{JobKind, JobStatus};

/// The languages the UI speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Es,
}

impl Locale {
    /// The table of strings.
    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Es => &ES,
        }
    }

    /// The `lang` attribute value.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }

    /// Picks a locale from a language tag or an `Accept-Language` header.
    pub fn negotiate(header: &str) -> Locale {
        header
            .split(',')
            .map(|part| {
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find_map(|tag| {
                if tag.starts_with("es") {
                    Some(Locale::Es)
                } else if tag.starts_with("en") {
                    Some(Locale::En)
                } else {
                    None
                }
            })
            .unwrap_or_default()
    }
}

/// The current locale's strings.
pub fn use_text() -> &'static Text {
    use_context::<Locale>().unwrap_or_default().text()
}

/// One language's strings.
pub struct Text {
    pub app_name: &'static str,
    pub skip_to_content: &'static str,
    pub nav_jobs: &'static str,
    pub nav_new_bulk: &'static str,
    pub nav_settings: &'static str,
    pub role: fn(&str) -> &'static str,
    pub viewer_cannot_start: &'static str,
    pub log_out: &'static str,
    pub sandbox_banner: &'static str,
    pub loading: &'static str,
    pub error_prefix: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub back_to_jobs: &'static str,
    pub session_expired: &'static str,

    pub conn_label: &'static str,
    pub conn_connecting: &'static str,
    pub conn_connected: &'static str,
    pub conn_reconnecting: fn(u32) -> String,
    pub conn_polling: &'static str,
    pub conn_offline: &'static str,

    pub status: fn(JobStatus) -> &'static str,
    pub kind: fn(JobKind) -> &'static str,

    pub jobs_title: &'static str,
    pub jobs_empty: &'static str,
    pub jobs_empty_hint: &'static str,
    pub col_job: &'static str,
    pub col_status: &'static str,
    pub col_progress: &'static str,
    pub col_created: &'static str,
    pub instances_title: &'static str,
    pub col_instance: &'static str,
    pub col_last_seen: &'static str,
    pub col_running: &'static str,
    pub col_your_jobs: &'static str,

    pub bulk_title: &'static str,
    pub bulk_intro: &'static str,
    pub message_label: &'static str,
    pub message_count: fn(usize, usize) -> String,
    pub recipients_label: &'static str,
    pub recipients_hint: &'static str,
    pub recipients_count: fn(usize) -> String,
    pub devices_label: &'static str,
    pub devices_hint: &'static str,
    pub start_sending: &'static str,
    pub starting: &'static str,
    pub invalid_entries: fn(usize) -> String,
    pub nothing_created: &'static str,
    pub line_error: fn(usize, &str, &str) -> String,

    pub sent: &'static str,
    pub failed: &'static str,
    pub unknown: &'static str,
    pub total: &'static str,
    pub remaining: &'static str,
    pub progress_label: &'static str,
    pub devices: &'static str,
    pub started: &'static str,
    pub finished: &'static str,
    pub duration: &'static str,
    pub throughput: &'static str,
    pub per_second: fn(f64) -> String,
    pub summary_title: &'static str,
    pub devices_used: fn(u32, u32) -> String,
    pub skipped_entries: fn(u64) -> String,

    pub log_title: &'static str,
    pub log_all: &'static str,
    pub log_failures: &'static str,
    pub log_empty: &'static str,
    pub log_jump: &'static str,
    pub log_created: fn(u64) -> String,
    pub log_started: &'static str,
    pub log_resumed: &'static str,
    pub log_sent: fn(u32, &str) -> String,
    pub log_item_failed: fn(u32, &str, &str) -> String,
    pub log_completed: fn(u64, u64) -> String,
    pub log_job_failed: fn(&str) -> String,
    pub log_cancelled: &'static str,
    pub log_paused: &'static str,
    pub log_resync: &'static str,
    pub log_older_hidden: fn(u64) -> String,
    pub log_load_older: &'static str,

    pub pause: &'static str,
    pub resume: &'static str,
    pub cancel: &'static str,
    pub cancel_question: &'static str,
    pub cancel_confirm: &'static str,
    pub keep_sending: &'static str,
    pub retry_failed: &'static str,
    pub include_unknown: &'static str,
    pub working: &'static str,
    pub stopping_note: &'static str,

    pub recipients_title: &'static str,
    pub tab_sent: &'static str,
    pub tab_failed: &'static str,
    pub tab_unknown: &'static str,
    pub tab_pending: &'static str,
    pub load_more: &'static str,
    pub no_items: &'static str,
    pub col_recipient: &'static str,
    pub col_device: &'static str,
    pub col_attempts: &'static str,
    pub col_error: &'static str,
    pub log_retrying: &'static str,

    pub settings_title: &'static str,
    pub tokens_title: &'static str,
    pub tokens_intro: &'static str,
    pub token_name: &'static str,
    pub create_token: &'static str,
    pub token_created: &'static str,
    pub revoke: &'static str,
    pub revoked: &'static str,
    pub never: &'static str,
    pub col_name: &'static str,
    pub col_last_used: &'static str,
    pub users_title: &'static str,
    pub add_user: &'static str,
    pub col_role: &'static str,
    pub remove: &'static str,
    pub saved: &'static str,

    pub login_title: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub log_in: &'static str,
    pub logging_in: &'static str,

    /// Digit grouping separator.
    pub thousands: char,
}

impl Text {
    /// Formats a count with this locale's digit grouping.
    pub fn number(&self, n: u64) -> String {
        crate::app::format::group_thousands(n, self.thousands)
    }

    /// Formats a percentage with one decimal, as people read it.
    pub fn percent(&self, value: f64) -> String {
        let text = format!("{value:.1} %");
        if self.thousands == '.' {
            text.replace('.', ",")
        } else {
            text
        }
    }
}

/// English.
pub static EN: Text = Text {
    app_name: "jobpulse",
    skip_to_content: "Skip to content",
    nav_jobs: "Jobs",
    nav_new_bulk: "New bulk send",
    nav_settings: "Settings",
    role: |role| match role {
        "admin" => "Admin",
        "operator" => "Operator",
        _ => "Viewer",
    },
    viewer_cannot_start: "Your role can watch jobs but not start them. Ask an admin if you need to.",
    log_out: "Log out",
    sandbox_banner: "Sandbox provider: messages are simulated and nothing is delivered. For demos only.",
    loading: "Loading…",
    error_prefix: "Something went wrong:",
    not_found_title: "Not found",
    not_found_body: "There is nothing here, or it belongs to another team.",
    back_to_jobs: "← All jobs",
    session_expired: "Your session has ended. Log in again to continue.",

    conn_label: "Live updates",
    conn_connecting: "Connecting…",
    conn_connected: "Live",
    conn_reconnecting: |attempt| format!("Reconnecting (attempt {attempt})…"),
    conn_polling: "Polling (degraded)",
    conn_offline: "Offline",

    status: |status| match status {
        JobStatus::Pending => "Pending",
        JobStatus::Processing => "Running",
        JobStatus::Paused => "Paused",
        JobStatus::Completed => "Completed",
        JobStatus::Failed => "Failed",
        JobStatus::Cancelled => "Cancelled",
    },
    kind: |kind| match kind {
        JobKind::BulkSend => "Bulk send",
        JobKind::Scrape => "Scraping",
        JobKind::External => "External job",
    },

    jobs_title: "Jobs",
    jobs_empty: "No jobs yet.",
    jobs_empty_hint: "Start a bulk send and watch it here, live.",
    col_job: "Job",
    col_status: "Status",
    col_progress: "Progress",
    col_created: "Created",
    instances_title: "Instances",
    col_instance: "Instance",
    col_last_seen: "Last heartbeat",
    col_running: "Jobs running",
    col_your_jobs: "Your jobs there",

    bulk_title: "New bulk send",
    bulk_intro: "One message to many recipients, sent by several devices in parallel. You can follow every message live.",
    message_label: "Message",
    message_count: |n, max| format!("{n} / {max} characters"),
    recipients_label: "Recipients",
    recipients_hint: "One phone number per line, or separated by commas. Include the country code, e.g. +34 600 000 001.",
    recipients_count: |n| match n {
        1 => "1 recipient".to_owned(),
        n => format!("{n} recipients"),
    },
    devices_label: "Sender devices",
    devices_hint: "How many devices send at the same time (1–50).",
    start_sending: "Start sending",
    starting: "Starting…",
    invalid_entries: |n| match n {
        1 => "1 recipient needs fixing".to_owned(),
        n => format!("{n} recipients need fixing"),
    },
    nothing_created: "Nothing was sent or created. Fix the list and try again.",
    line_error: |line, entry, reason| format!("Line {line}: “{entry}” — {reason}"),

    sent: "Sent",
    failed: "Failed",
    unknown: "Unknown",
    total: "Total",
    remaining: "Remaining",
    progress_label: "Progress",
    devices: "Devices",
    started: "Started",
    finished: "Finished",
    duration: "Duration",
    throughput: "Throughput",
    per_second: |rate| format!("{rate:.1} per second"),
    summary_title: "Summary",
    devices_used: |used, workers| format!("{used} of {workers} devices used"),
    skipped_entries: |n| format!("{n} invalid entries were skipped"),

    log_title: "Activity",
    log_all: "All",
    log_failures: "Failures only",
    log_empty: "Nothing has happened yet.",
    log_jump: "Jump to latest",
    log_created: |total| format!("Job created with {total} recipients"),
    log_started: "Sending started",
    log_resumed: "Resumed after a restart",
    log_sent: |device, phone| format!("Device {device} → {phone}: sent"),
    log_item_failed: |device, phone, error| format!("Device {device} → {phone}: {error}"),
    log_completed: |sent, failed| format!("Completed: {sent} sent, {failed} failed"),
    log_job_failed: |error| format!("Job failed: {error}"),
    log_cancelled: "Cancelled",
    log_paused: "Paused",
    log_resync: "Reloaded the job's state from the server",
    log_older_hidden: |n| format!("{n} older lines are not shown"),
    log_load_older: "Load earlier activity",

    pause: "Pause",
    resume: "Resume",
    cancel: "Cancel",
    cancel_question: "Stop this send? Messages already sent stay sent; the rest are not sent.",
    cancel_confirm: "Yes, cancel",
    keep_sending: "Keep sending",
    retry_failed: "Retry failed items",
    include_unknown: "Also re-send items whose delivery is unknown (they may arrive twice)",
    working: "Working…",
    stopping_note: "Messages being sent right now finish first; the final counts follow.",

    recipients_title: "Recipients",
    tab_sent: "Sent",
    tab_failed: "Failed",
    tab_unknown: "Unknown",
    tab_pending: "Not sent",
    load_more: "Load more",
    no_items: "No recipients here.",
    col_recipient: "Recipient",
    col_device: "Device",
    col_attempts: "Attempts",
    col_error: "Error",
    log_retrying: "Queued again",

    settings_title: "Settings",
    tokens_title: "API tokens",
    tokens_intro: "Scripts use a token as 'Authorization: Bearer …'. A token is shown once, when it is created; only its fingerprint is stored.",
    token_name: "Token name",
    create_token: "Create token",
    token_created: "Copy this token now: it will not be shown again.",
    revoke: "Revoke",
    revoked: "Revoked",
    never: "Never",
    col_name: "Name",
    col_last_used: "Last used",
    users_title: "Users",
    add_user: "Add user",
    col_role: "Role",
    remove: "Remove",
    saved: "Saved.",

    login_title: "Log in to jobpulse",
    username: "Username",
    password: "Password",
    log_in: "Log in",
    logging_in: "Logging in…",

    thousands: ',',
};

/// Spanish.
pub static ES: Text = Text {
    app_name: "jobpulse",
    skip_to_content: "Ir al contenido",
    nav_jobs: "Trabajos",
    nav_new_bulk: "Nuevo envío masivo",
    nav_settings: "Ajustes",
    role: |role| match role {
        "admin" => "Administrador",
        "operator" => "Operador",
        _ => "Observador",
    },
    viewer_cannot_start: "Tu rol puede ver los trabajos pero no iniciarlos. Pídeselo a un administrador si lo necesitas.",
    log_out: "Cerrar sesión",
    sandbox_banner: "Proveedor de pruebas: los mensajes se simulan y no se entrega nada. Solo para demostraciones.",
    loading: "Cargando…",
    error_prefix: "Algo salió mal:",
    not_found_title: "No encontrado",
    not_found_body: "Aquí no hay nada, o pertenece a otro equipo.",
    back_to_jobs: "← Todos los trabajos",
    session_expired: "Tu sesión ha terminado. Vuelve a iniciar sesión para continuar.",

    conn_label: "Actualizaciones en vivo",
    conn_connecting: "Conectando…",
    conn_connected: "En vivo",
    conn_reconnecting: |attempt| format!("Reconectando (intento {attempt})…"),
    conn_polling: "Consultando (modo degradado)",
    conn_offline: "Sin conexión",

    status: |status| match status {
        JobStatus::Pending => "Pendiente",
        JobStatus::Processing => "En curso",
        JobStatus::Paused => "En pausa",
        JobStatus::Completed => "Completado",
        JobStatus::Failed => "Fallido",
        JobStatus::Cancelled => "Cancelado",
    },
    kind: |kind| match kind {
        JobKind::BulkSend => "Envío masivo",
        JobKind::Scrape => "Extracción",
        JobKind::External => "Trabajo externo",
    },

    jobs_title: "Trabajos",
    jobs_empty: "Todavía no hay trabajos.",
    jobs_empty_hint: "Inicia un envío masivo y síguelo aquí en vivo.",
    col_job: "Trabajo",
    col_status: "Estado",
    col_progress: "Progreso",
    col_created: "Creado",
    instances_title: "Instancias",
    col_instance: "Instancia",
    col_last_seen: "Último latido",
    col_running: "Trabajos en curso",
    col_your_jobs: "Tus trabajos allí",

    bulk_title: "Nuevo envío masivo",
    bulk_intro: "Un mensaje para muchos destinatarios, enviado por varios dispositivos en paralelo. Puedes seguir cada mensaje en vivo.",
    message_label: "Mensaje",
    message_count: |n, max| format!("{n} / {max} caracteres"),
    recipients_label: "Destinatarios",
    recipients_hint: "Un número por línea, o separados por comas. Incluye el prefijo del país, p. ej. +34 600 000 001.",
    recipients_count: |n| match n {
        1 => "1 destinatario".to_owned(),
        n => format!("{n} destinatarios"),
    },
    devices_label: "Dispositivos de envío",
    devices_hint: "Cuántos dispositivos envían a la vez (1–50).",
    start_sending: "Empezar a enviar",
    starting: "Empezando…",
    invalid_entries: |n| match n {
        1 => "1 destinatario necesita corrección".to_owned(),
        n => format!("{n} destinatarios necesitan corrección"),
    },
    nothing_created: "No se ha enviado ni creado nada. Corrige la lista y vuelve a intentarlo.",
    line_error: |line, entry, reason| format!("Línea {line}: «{entry}» — {reason}"),

    sent: "Enviados",
    failed: "Fallidos",
    unknown: "Desconocidos",
    total: "Total",
    remaining: "Pendientes",
    progress_label: "Progreso",
    devices: "Dispositivos",
    started: "Inicio",
    finished: "Fin",
    duration: "Duración",
    throughput: "Ritmo",
    per_second: |rate| format!("{rate:.1} por segundo"),
    summary_title: "Resumen",
    devices_used: |used, workers| format!("{used} de {workers} dispositivos usados"),
    skipped_entries: |n| format!("Se omitieron {n} entradas no válidas"),

    log_title: "Actividad",
    log_all: "Todo",
    log_failures: "Solo fallos",
    log_empty: "Todavía no ha pasado nada.",
    log_jump: "Ir a lo último",
    log_created: |total| format!("Trabajo creado con {total} destinatarios"),
    log_started: "Envío iniciado",
    log_resumed: "Reanudado tras un reinicio",
    log_sent: |device, phone| format!("Dispositivo {device} → {phone}: enviado"),
    log_item_failed: |device, phone, error| format!("Dispositivo {device} → {phone}: {error}"),
    log_completed: |sent, failed| format!("Completado: {sent} enviados, {failed} fallidos"),
    log_job_failed: |error| format!("El trabajo falló: {error}"),
    log_cancelled: "Cancelado",
    log_paused: "En pausa",
    log_resync: "Estado del trabajo recargado desde el servidor",
    log_older_hidden: |n| format!("No se muestran {n} líneas anteriores"),
    log_load_older: "Cargar actividad anterior",

    pause: "Pausar",
    resume: "Reanudar",
    cancel: "Cancelar",
    cancel_question: "¿Detener este envío? Los mensajes ya enviados quedan enviados; el resto no se envía.",
    cancel_confirm: "Sí, cancelar",
    keep_sending: "Seguir enviando",
    retry_failed: "Reintentar los fallidos",
    include_unknown: "Reenviar también los de entrega desconocida (podrían llegar dos veces)",
    working: "Un momento…",
    stopping_note: "Los mensajes que se están enviando terminan primero; después llegan los totales finales.",

    recipients_title: "Destinatarios",
    tab_sent: "Enviados",
    tab_failed: "Fallidos",
    tab_unknown: "Desconocidos",
    tab_pending: "Sin enviar",
    load_more: "Cargar más",
    no_items: "No hay destinatarios aquí.",
    col_recipient: "Destinatario",
    col_device: "Dispositivo",
    col_attempts: "Intentos",
    col_error: "Error",
    log_retrying: "En cola de nuevo",

    settings_title: "Ajustes",
    tokens_title: "Tokens de API",
    tokens_intro: "Los scripts usan un token como 'Authorization: Bearer …'. Un token se muestra una sola vez, al crearlo; solo se guarda su huella.",
    token_name: "Nombre del token",
    create_token: "Crear token",
    token_created: "Copia este token ahora: no se volverá a mostrar.",
    revoke: "Revocar",
    revoked: "Revocado",
    never: "Nunca",
    col_name: "Nombre",
    col_last_used: "Último uso",
    users_title: "Usuarios",
    add_user: "Añadir usuario",
    col_role: "Rol",
    remove: "Quitar",
    saved: "Guardado.",

    login_title: "Inicia sesión en jobpulse",
    username: "Usuario",
    password: "Contraseña",
    log_in: "Entrar",
    logging_in: "Entrando…",

    thousands: '.',
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_digits_per_locale() {
        assert_eq!(EN.number(10_000), "10,000");
        assert_eq!(ES.number(10_000), "10.000");
        assert_eq!(EN.number(999), "999");
        assert_eq!(ES.percent(12.5), "12,5 %");
    }

    #[test]
    fn accept_language_picks_spanish_when_preferred() {
        assert_eq!(Locale::negotiate("es-ES,es;q=0.9,en;q=0.8"), Locale::Es);
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Locale::En);
        assert_eq!(Locale::negotiate("de-DE"), Locale::En);
    }
}
