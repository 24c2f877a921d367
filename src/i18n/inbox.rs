//! The inbox and opt-outs pages' strings, and the job page's replies.

/// One language's strings of the inbox and opt-outs pages.
pub struct InboxText {
    pub nav_inbox: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub job_title: &'static str,
    pub show_all: &'static str,
    pub col_from: &'static str,
    pub col_message: &'static str,
    pub col_when: &'static str,
    pub col_send: &'static str,
    pub open_send: &'static str,
    pub no_send: &'static str,
    pub older: &'static str,
    pub replies: &'static str,
    pub see_replies: &'static str,
    pub opt_outs_link: &'static str,

    pub nav_opt_outs: &'static str,
    pub opt_outs_title: &'static str,
    pub opt_outs_intro: &'static str,
    pub opt_outs_empty: &'static str,
    pub col_phone: &'static str,
    pub col_source: &'static str,
    pub col_since: &'static str,
    pub source: fn(&str) -> &'static str,
    pub phone_label: &'static str,
    pub add: &'static str,
    pub added: &'static str,
    pub already: &'static str,
    pub remove: &'static str,
    pub words_hint: fn(&str) -> String,
}

/// English.
pub static EN_INBOX: InboxText = InboxText {
    nav_inbox: "Inbox",
    title: "Inbox",
    intro: "Messages your recipients wrote back to your senders, newest first. New ones appear here as they arrive.",
    empty: "No messages yet. Replies to your senders appear here once the provider's webhook points at jobpulse.",
    job_title: "Replies to one send",
    show_all: "Show every message",
    col_from: "From",
    col_message: "Message",
    col_when: "Received",
    col_send: "Send",
    open_send: "Open the send",
    no_send: "—",
    older: "Older messages",
    replies: "Replies",
    see_replies: "See the replies",
    opt_outs_link: "Opted-out numbers",

    nav_opt_outs: "Opt-outs",
    opt_outs_title: "Opted-out numbers",
    opt_outs_intro: "Numbers that asked not to be written to. Bulk sends never send to them: a send that lists one is refused, or leaves it out when it skips invalid numbers.",
    opt_outs_empty: "Nobody has opted out.",
    col_phone: "Number",
    col_source: "How",
    col_since: "Since",
    source: |source| match source {
        "reply" => "Replied with an opt-out word",
        _ => "Added by hand",
    },
    phone_label: "Number to add",
    add: "Add to the list",
    added: "Added to the list.",
    already: "That number was already on the list.",
    remove: "Remove",
    words_hint: |words| {
        format!(
            "A reply whose whole text is one of {words} (any case) adds its number here by itself."
        )
    },
};

/// Spanish.
pub static ES_INBOX: InboxText = InboxText {
    nav_inbox: "Bandeja",
    title: "Bandeja de entrada",
    intro: "Los mensajes que tus destinatarios han respondido a tus emisores, los más recientes primero. Los nuevos aparecen aquí según llegan.",
    empty: "Aún no hay mensajes. Las respuestas a tus emisores aparecen aquí cuando el webhook del proveedor apunta a jobpulse.",
    job_title: "Respuestas a un envío",
    show_all: "Ver todos los mensajes",
    col_from: "De",
    col_message: "Mensaje",
    col_when: "Recibido",
    col_send: "Envío",
    open_send: "Abrir el envío",
    no_send: "—",
    older: "Mensajes anteriores",
    replies: "Respuestas",
    see_replies: "Ver las respuestas",
    opt_outs_link: "Números dados de baja",

    nav_opt_outs: "Bajas",
    opt_outs_title: "Números dados de baja",
    opt_outs_intro: "Números que han pedido no recibir mensajes. Los envíos masivos nunca les escriben: un envío que incluya uno se rechaza, o lo deja fuera si omite los números no válidos.",
    opt_outs_empty: "Nadie se ha dado de baja.",
    col_phone: "Número",
    col_source: "Cómo",
    col_since: "Desde",
    source: |source| match source {
        "reply" => "Respondió con una palabra de baja",
        _ => "Añadido a mano",
    },
    phone_label: "Número que añadir",
    add: "Añadir a la lista",
    added: "Añadido a la lista.",
    already: "Ese número ya estaba en la lista.",
    remove: "Quitar",
    words_hint: |words| {
        format!(
            "Una respuesta cuyo texto entero sea una de {words} (en mayúsculas o minúsculas) añade su número aquí por sí sola."
        )
    },
};
