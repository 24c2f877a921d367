//! The jobs list's filters, paging and bulk actions, and the names and tags of sends.

/// One language's strings of the jobs list.
pub struct JobsListText {
    pub filters_label: &'static str,
    pub search: &'static str,
    pub search_placeholder: &'static str,
    pub status: &'static str,
    pub any_status: &'static str,
    pub kind: &'static str,
    pub any_kind: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub apply: &'static str,
    pub clear: &'static str,
    /// The count of every status together.
    pub all: &'static str,
    pub counts_label: &'static str,
    /// Back to the first page (keyset pages only go on).
    pub newest: &'static str,
    pub older: &'static str,
    pub no_match: &'static str,
    pub bulk_label: &'static str,
    /// The action's name in the bulk menu.
    pub action: fn(crate::protocol::BulkAction) -> &'static str,
    /// `Apply to {n} jobs…`.
    pub bulk_apply: fn(u64) -> String,
    /// `{action}: {n} jobs matching these filters?`.
    pub bulk_confirm: fn(&str, u64) -> String,
    pub bulk_confirm_hint: &'static str,
    pub confirm: &'static str,
    pub keep: &'static str,
    /// `{changed} changed.`
    pub bulk_changed: fn(u64) -> String,
    /// `{n} left as they were:`
    pub bulk_refused: fn(u64) -> String,
    pub name_label: &'static str,
    pub name_hint: &'static str,
    pub tags_label: &'static str,
    pub tags_hint: &'static str,
    pub tags: &'static str,
    /// The recipient search: one number across every send.
    pub recipient_title: &'static str,
    pub recipient_lead: &'static str,
    pub recipient_link: &'static str,
    pub phone_label: &'static str,
    pub find: &'static str,
    /// `No send of yours went to {phone}.`
    pub recipient_none: fn(&str) -> String,
    /// `{phone}: {n} messages, newest first`.
    pub recipient_found: fn(&str, u64) -> String,
    /// `Cannot look up “{typed}”: {issue}.`
    pub recipient_invalid: fn(&str, &str) -> String,
    pub col_send: &'static str,
    pub col_outcome: &'static str,
    pub col_receipt: &'static str,
    /// One item's outcome.
    pub item_status: fn(crate::protocol::ItemStatus) -> &'static str,
    /// One item's receipt.
    pub delivery: fn(crate::protocol::Delivery) -> &'static str,
}

fn en(n: u64) -> String {
    super::group_thousands(n, ',')
}

fn es(n: u64) -> String {
    super::group_thousands(n, '.')
}

/// English.
pub static EN_JOBS_LIST: JobsListText = JobsListText {
    filters_label: "Find jobs",
    search: "Search",
    search_placeholder: "Name, message or tag",
    status: "Status",
    any_status: "Any status",
    kind: "Kind",
    any_kind: "Any kind",
    from: "Created from",
    to: "Created until",
    apply: "Filter",
    clear: "Clear filters",
    all: "All",
    counts_label: "Jobs per status",
    newest: "← Newest",
    older: "Older →",
    no_match: "No jobs match these filters.",
    bulk_label: "Act on every matching job",
    action: |action| {
        use crate::protocol::BulkAction;
        match action {
            BulkAction::Pause => "Pause",
            BulkAction::Resume => "Resume",
            BulkAction::RetryFailed => "Retry failed",
            BulkAction::Cancel => "Cancel",
        }
    },
    bulk_apply: |n| match n {
        1 => "Apply to 1 job…".into(),
        n => format!("Apply to {} jobs…", en(n)),
    },
    bulk_confirm: |action, n| match n {
        1 => format!("{action}: the 1 job matching these filters?"),
        n => format!("{action}: {} jobs matching these filters?", en(n)),
    },
    bulk_confirm_hint: "Jobs it does not fit are left as they are, and listed with the reason.",
    confirm: "Yes, do it",
    keep: "No, keep them",
    bulk_changed: |n| format!("{} changed.", en(n)),
    bulk_refused: |n| match n {
        1 => "1 left as it was:".into(),
        n => format!("{} left as they were:", en(n)),
    },
    name_label: "Name (optional)",
    name_hint: "What the jobs list calls it, e.g. “Black Friday reminder”.",
    tags_label: "Tags (optional)",
    tags_hint: "Separated by commas, to find it later, e.g. “vip, november”.",
    tags: "Tags",
    recipient_title: "Where did this number go?",
    recipient_lead: "Every message your sends had for one number: what happened to it, every error, and what the gateway said after.",
    recipient_link: "Where did a number go?",
    phone_label: "Phone number",
    find: "Find",
    recipient_none: |phone| format!("No send of yours went to {phone}."),
    recipient_found: |phone, n| match n {
        1 => format!("{phone}: 1 message"),
        n => format!("{phone}: {} messages, newest first", en(n)),
    },
    recipient_invalid: |typed, issue| format!("Cannot look up “{typed}”: {issue}."),
    col_send: "Send",
    col_outcome: "Outcome",
    col_receipt: "Receipt",
    item_status: |status| {
        use crate::protocol::ItemStatus;
        match status {
            ItemStatus::Pending => "Not sent yet",
            ItemStatus::Sending => "Sending",
            ItemStatus::Sent => "Sent",
            ItemStatus::Failed => "Failed",
            ItemStatus::Unknown => "Unknown",
        }
    },
    delivery: |delivery| {
        use crate::protocol::Delivery;
        match delivery {
            Delivery::Delivered => "Delivered",
            Delivery::Read => "Read",
            Delivery::Undelivered => "Undelivered",
        }
    },
};

/// Spanish.
pub static ES_JOBS_LIST: JobsListText = JobsListText {
    filters_label: "Buscar trabajos",
    search: "Buscar",
    search_placeholder: "Nombre, mensaje o etiqueta",
    status: "Estado",
    any_status: "Cualquier estado",
    kind: "Tipo",
    any_kind: "Cualquier tipo",
    from: "Creados desde",
    to: "Creados hasta",
    apply: "Filtrar",
    clear: "Quitar filtros",
    all: "Todos",
    counts_label: "Trabajos por estado",
    newest: "← Más recientes",
    older: "Más antiguos →",
    no_match: "Ningún trabajo cumple estos filtros.",
    bulk_label: "Actuar sobre todos los que cumplen",
    action: |action| {
        use crate::protocol::BulkAction;
        match action {
            BulkAction::Pause => "Pausar",
            BulkAction::Resume => "Reanudar",
            BulkAction::RetryFailed => "Reintentar fallidos",
            BulkAction::Cancel => "Cancelar",
        }
    },
    bulk_apply: |n| match n {
        1 => "Aplicar a 1 trabajo…".into(),
        n => format!("Aplicar a {} trabajos…", es(n)),
    },
    bulk_confirm: |action, n| match n {
        1 => format!("{action}: ¿el único trabajo que cumple estos filtros?"),
        n => format!(
            "{action}: ¿los {} trabajos que cumplen estos filtros?",
            es(n)
        ),
    },
    bulk_confirm_hint: "Los trabajos a los que no aplica quedan como están, con el motivo.",
    confirm: "Sí, hazlo",
    keep: "No, déjalos",
    bulk_changed: |n| match n {
        1 => "1 cambiado.".into(),
        n => format!("{} cambiados.", es(n)),
    },
    bulk_refused: |n| match n {
        1 => "1 quedó como estaba:".into(),
        n => format!("{} quedaron como estaban:", es(n)),
    },
    name_label: "Nombre (opcional)",
    name_hint: "Cómo lo llama la lista de trabajos, p. ej. «Recordatorio Black Friday».",
    tags_label: "Etiquetas (opcional)",
    tags_hint: "Separadas por comas, para encontrarlo luego, p. ej. «vip, noviembre».",
    tags: "Etiquetas",
    recipient_title: "¿Qué pasó con este número?",
    recipient_lead: "Cada mensaje que tus envíos tuvieron para un número: qué pasó, cada error y lo que dijo la pasarela después.",
    recipient_link: "¿Qué pasó con un número?",
    phone_label: "Número de teléfono",
    find: "Buscar",
    recipient_none: |phone| format!("Ninguno de tus envíos fue a {phone}."),
    recipient_found: |phone, n| match n {
        1 => format!("{phone}: 1 mensaje"),
        n => format!("{phone}: {} mensajes, el más reciente primero", es(n)),
    },
    recipient_invalid: |typed, issue| format!("No se puede buscar «{typed}»: {issue}."),
    col_send: "Envío",
    col_outcome: "Resultado",
    col_receipt: "Acuse",
    item_status: |status| {
        use crate::protocol::ItemStatus;
        match status {
            ItemStatus::Pending => "Aún sin enviar",
            ItemStatus::Sending => "Enviándose",
            ItemStatus::Sent => "Enviado",
            ItemStatus::Failed => "Fallido",
            ItemStatus::Unknown => "Desconocido",
        }
    },
    delivery: |delivery| {
        use crate::protocol::Delivery;
        match delivery {
            Delivery::Delivered => "Entregado",
            Delivery::Read => "Leído",
            Delivery::Undelivered => "No entregado",
        }
    },
};
