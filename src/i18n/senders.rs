//! How each language words why a sender cannot be created or changed (`SenderRule`).

use crate::protocol::problem::SenderRule;

/// English.
pub(super) fn en(rule: &SenderRule) -> String {
    match rule {
        SenderRule::NameEmpty => "Give the sender a name.".into(),
        SenderRule::NameTooLong { max } => {
            format!("A sender's name is at most {max} characters long.")
        }
        SenderRule::NameTaken { name } => {
            format!("You already have a sender named \"{name}\": pick another name.")
        }
        SenderRule::UnknownProvider { got } => format!(
            "\"{got}\" is not a provider jobpulse sends through: use whatsapp_cloud, twilio, wablas, http or sandbox."
        ),
        SenderRule::RateOutOfRange { got, max } => {
            format!("The rate must be 1 to {max} messages a minute (got {got}).")
        }
        SenderRule::RateNotANumber { got } => {
            format!("The rate must be a whole number of messages a minute (got \"{got}\").")
        }
        SenderRule::ConfigNotObject => {
            "The settings (config) must be a JSON object such as {\"token\": \"…\"}.".into()
        }
        SenderRule::UnknownField { field } => {
            format!("This provider takes no setting \"{field}\": remove it.")
        }
        SenderRule::MissingField { field } => format!("Fill in the setting \"{field}\"."),
        SenderRule::NotText { field } => format!("The setting \"{field}\" must be text."),
        SenderRule::NotUrl { field, value } => format!(
            "The setting \"{field}\" must be an http:// or https:// address (got \"{value}\")."
        ),
        SenderRule::PrivateAddress { field, value } => format!(
            "The setting \"{field}\" points at the server's own network (\"{value}\"), which senders may not reach; use the provider's public address."
        ),
        SenderRule::TwilioFrom => {
            "Twilio needs either \"from\" (a number) or \"messaging_service_sid\", not both.".into()
        }
    }
}

/// Spanish.
pub(super) fn es(rule: &SenderRule) -> String {
    match rule {
        SenderRule::NameEmpty => "Ponle un nombre al emisor.".into(),
        SenderRule::NameTooLong { max } => {
            format!("El nombre de un emisor tiene como mucho {max} caracteres.")
        }
        SenderRule::NameTaken { name } => {
            format!("Ya tienes un emisor llamado «{name}»: elige otro nombre.")
        }
        SenderRule::UnknownProvider { got } => format!(
            "«{got}» no es un proveedor con el que jobpulse envíe: usa whatsapp_cloud, twilio, wablas, http o sandbox."
        ),
        SenderRule::RateOutOfRange { got, max } => {
            format!("El ritmo debe ser de 1 a {max} mensajes por minuto (se recibió {got}).")
        }
        SenderRule::RateNotANumber { got } => {
            format!(
                "El ritmo debe ser un número entero de mensajes por minuto (se recibió «{got}»)."
            )
        }
        SenderRule::ConfigNotObject => {
            "Los ajustes (config) deben ser un objeto JSON como {\"token\": \"…\"}.".into()
        }
        SenderRule::UnknownField { field } => {
            format!("Este proveedor no tiene el ajuste «{field}»: quítalo.")
        }
        SenderRule::MissingField { field } => format!("Rellena el ajuste «{field}»."),
        SenderRule::NotText { field } => format!("El ajuste «{field}» debe ser texto."),
        SenderRule::NotUrl { field, value } => format!(
            "El ajuste «{field}» debe ser una dirección http:// o https:// (se recibió «{value}»)."
        ),
        SenderRule::PrivateAddress { field, value } => format!(
            "El ajuste «{field}» apunta a la red del propio servidor («{value}»), a la que los emisores no pueden llegar; usa la dirección pública del proveedor."
        ),
        SenderRule::TwilioFrom => {
            "Twilio necesita «from» (un número) o «messaging_service_sid», no los dos.".into()
        }
    }
}

/// One language's strings of the senders page.
pub struct SenderText {
    pub nav_senders: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub sandbox_label: &'static str,
    pub col_sender: &'static str,
    pub col_provider: &'static str,
    pub col_health: &'static str,
    pub col_rate: &'static str,
    pub col_sent: &'static str,
    pub col_webhook: &'static str,
    pub per_minute: &'static str,
    pub health: fn(crate::protocol::senders::SenderHealth) -> &'static str,
    pub active: &'static str,
    pub off: &'static str,
    pub turn_on: &'static str,
    pub turn_off: &'static str,
    pub delete: &'static str,
    pub add_title: &'static str,
    pub name_label: &'static str,
    pub provider_label: &'static str,
    pub rate_label: &'static str,
    pub rate_hint: &'static str,
    pub secret_hint: &'static str,
    pub optional: &'static str,
    pub default_is: &'static str,
    pub add: &'static str,
    pub added: &'static str,
    pub webhook_hint: &'static str,
    pub field: fn(&str) -> &'static str,
    pub sent_failed: fn(u64, u64) -> String,
    pub funnel_label: &'static str,
    pub delivered: &'static str,
    pub read: &'static str,
    pub undelivered: &'static str,
    pub awaiting: &'static str,
    pub receipts_arriving: &'static str,
    pub webhook_once: &'static str,
    pub device: fn(u32) -> String,
    pub health_from_provider: &'static str,
}

/// English.
pub static EN_SENDERS: SenderText = SenderText {
    nav_senders: "Senders",
    title: "Senders",
    intro: "The numbers and devices your bulk sends go out through. A send spreads its recipients over up to its sender-devices count of the active senders here; with none, it uses the server's provider.",
    empty: "No senders yet: bulk sends use the server's provider.",
    sandbox_label: "Demo: delivers nothing",
    col_sender: "Sender",
    col_provider: "Provider",
    col_health: "Health",
    col_rate: "Rate",
    col_sent: "Sent / failed",
    col_webhook: "Webhook URL",
    per_minute: "/ min",
    health: |health| {
        use crate::protocol::senders::SenderHealth;
        match health {
            SenderHealth::Ok => "Working",
            SenderHealth::Degraded => "Degraded",
            SenderHealth::Down => "Down",
            SenderHealth::Unknown => "Not used yet",
        }
    },
    active: "Active",
    off: "Off",
    turn_on: "Turn on",
    turn_off: "Turn off",
    delete: "Delete",
    add_title: "Add a sender",
    name_label: "Name",
    provider_label: "Provider",
    rate_label: "Messages per minute",
    rate_hint: "Evenly spaced; 600 if left empty.",
    secret_hint: "Stored encrypted; never shown again.",
    optional: "optional",
    default_is: "default",
    add: "Add sender",
    added: "Sender added.",
    webhook_hint: "Paste this address into the provider's webhook settings for delivery receipts and replies.",
    field: |name| match name {
        "base_url" => "Base URL",
        "phone_number_id" => "Phone number ID",
        "access_token" => "Access token",
        "app_secret" => "App secret",
        "verify_token" => "Verify token",
        "account_sid" => "Account SID",
        "auth_token" => "Auth token",
        "from" => "From (number)",
        "messaging_service_sid" => "Messaging Service SID",
        "token" => "Token",
        "secret_key" => "Secret key",
        "url" => "URL",
        _ => "Setting",
    },
    sent_failed: |sent, failed| format!("{sent} / {failed}"),
    funnel_label: "Delivery",
    delivered: "Delivered",
    read: "Read",
    undelivered: "Undelivered",
    awaiting: "Awaiting receipt",
    receipts_arriving: "Sending finished — receipts arriving",
    webhook_once: "Paste this webhook URL into the Wablas device's settings (webhook and tracking URL) now: its secret is shown only this once.",
    device: |n| format!("Device {n}"),
    health_from_provider: "Health comes from the provider where it tells (Wablas device, Cloud API number, Twilio account), asked regularly, and from the latest sends; it changes here live.",
};

/// Spanish.
pub static ES_SENDERS: SenderText = SenderText {
    nav_senders: "Emisores",
    title: "Emisores",
    intro: "Los números y dispositivos por los que salen tus envíos masivos. Un envío reparte sus destinatarios entre tantos emisores activos de esta lista como dispositivos emisores indique; si no hay ninguno, usa el proveedor del servidor.",
    empty: "Aún no hay emisores: los envíos masivos usan el proveedor del servidor.",
    sandbox_label: "Demo: no entrega nada",
    col_sender: "Emisor",
    col_provider: "Proveedor",
    col_health: "Estado",
    col_rate: "Ritmo",
    col_sent: "Enviados / fallidos",
    col_webhook: "URL del webhook",
    per_minute: "/ min",
    health: |health| {
        use crate::protocol::senders::SenderHealth;
        match health {
            SenderHealth::Ok => "Funciona",
            SenderHealth::Degraded => "Con problemas",
            SenderHealth::Down => "Caído",
            SenderHealth::Unknown => "Sin usar aún",
        }
    },
    active: "Activo",
    off: "Desactivado",
    turn_on: "Activar",
    turn_off: "Desactivar",
    delete: "Eliminar",
    add_title: "Añadir un emisor",
    name_label: "Nombre",
    provider_label: "Proveedor",
    rate_label: "Mensajes por minuto",
    rate_hint: "Repartidos de forma uniforme; 600 si se deja vacío.",
    secret_hint: "Se guarda cifrado; no se vuelve a mostrar.",
    optional: "opcional",
    default_is: "por defecto",
    add: "Añadir emisor",
    added: "Emisor añadido.",
    webhook_hint: "Pega esta dirección en los ajustes de webhook del proveedor para recibir confirmaciones de entrega y respuestas.",
    field: |name| match name {
        "base_url" => "URL base",
        "phone_number_id" => "ID del número de teléfono",
        "access_token" => "Token de acceso",
        "app_secret" => "Secreto de la app",
        "verify_token" => "Token de verificación",
        "account_sid" => "Account SID",
        "auth_token" => "Auth token",
        "from" => "Remitente (número)",
        "messaging_service_sid" => "SID del Messaging Service",
        "token" => "Token",
        "secret_key" => "Clave secreta",
        "url" => "URL",
        _ => "Ajuste",
    },
    sent_failed: |sent, failed| format!("{sent} / {failed}"),
    funnel_label: "Entrega",
    delivered: "Entregados",
    read: "Leídos",
    undelivered: "No entregados",
    awaiting: "Sin confirmación",
    receipts_arriving: "Envío terminado — llegando confirmaciones",
    webhook_once: "Pega ahora esta URL de webhook en los ajustes del dispositivo de Wablas (webhook y URL de seguimiento): su secreto solo se muestra esta vez.",
    device: |n| format!("Dispositivo {n}"),
    health_from_provider: "El estado lo da el proveedor cuando lo informa (dispositivo de Wablas, número de la Cloud API, cuenta de Twilio), consultado periódicamente, y los últimos envíos; aquí cambia en directo.",
};
