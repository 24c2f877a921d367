//! The job page's pace panel: rate, time left, time running, a stall warning and the
//! throughput chart.

/// One language's strings of the pace panel.
pub struct CockpitText {
    pub pace_label: &'static str,
    pub rate: &'static str,
    /// `{rate}/s`, the rate over the last seconds.
    pub rate_value: fn(f64) -> String,
    pub eta: &'static str,
    pub elapsed: &'static str,
    /// No estimate yet (nothing moved in the window) or none needed (the job ended).
    pub no_value: &'static str,
    /// `Stalled: nothing moved for {duration}`.
    pub stalled: fn(&str) -> String,
    pub stalled_hint: &'static str,
    pub chart_title: &'static str,
    /// The chart's description for screen readers: `{sent} sent and {failed} failed in the last {seconds} s`.
    pub chart_summary: fn(&str, &str, u32) -> String,
    pub chart_peak: fn(&str) -> String,
    pub legend_sent: &'static str,
    pub legend_failed: &'static str,
    /// `{seconds} s ago` under the chart's left edge.
    pub seconds_ago: fn(u32) -> String,
    pub now: &'static str,
    /// `Last update {duration} ago`, while the page cannot reach the server.
    pub last_update: fn(&str) -> String,
    /// Why the job's buttons are off while offline.
    pub offline_controls: &'static str,
    /// `Send the rest ({n})`: a cancelled send's untried recipients as a new send.
    pub send_rest: fn(&str) -> String,
    pub send_rest_hint: &'static str,
    pub export_not_sent: &'static str,
    pub failures_title: &'static str,
    pub col_reason: &'static str,
    pub col_count: &'static str,
    pub col_actions: &'static str,
    pub retry_these: &'static str,
    /// The button that opens the navigation on phones.
    pub menu: &'static str,
    /// The main navigation's name for screen readers.
    pub nav_label: &'static str,
    /// Announced when a watched job passes 25, 50 or 75 %.
    pub milestone: fn(u32) -> String,
    /// Announced (and notified) when a watched job ends: its status, sent, failed.
    pub ended: fn(&str, &str, &str) -> String,
    pub notify_me: &'static str,
    pub notify_on: &'static str,
}

/// English.
pub static EN_COCKPIT: CockpitText = CockpitText {
    pace_label: "Pace",
    rate: "Rate (last 10 s)",
    rate_value: |rate| format!("{rate:.1}/s"),
    eta: "Time left",
    elapsed: "Running for",
    no_value: "—",
    stalled: |duration| format!("Stalled: nothing moved for {duration}"),
    stalled_hint: "The log below shows the last thing that happened, and any error.",
    chart_title: "Throughput, last 2 minutes",
    chart_summary: |sent, failed, seconds| {
        format!("{sent} sent and {failed} failed in the last {seconds} s")
    },
    chart_peak: |peak| format!("peak {peak}/s"),
    legend_sent: "sent",
    legend_failed: "failed",
    seconds_ago: |seconds| format!("{seconds} s ago"),
    now: "now",
    last_update: |ago| format!("Last update {ago} ago: these figures may be behind."),
    offline_controls: "Offline: the buttons come back when the connection does.",
    send_rest: |n| format!("Send the rest ({n})"),
    send_rest_hint: "A new send of the same message to the recipients this one never tried.",
    export_not_sent: "Export not sent",
    failures_title: "Failures by reason",
    col_reason: "Reason",
    col_count: "Recipients",
    col_actions: "Actions",
    retry_these: "Retry only these",
    menu: "Menu",
    nav_label: "Main",
    milestone: |percent| format!("{percent} % done"),
    ended: |status, sent, failed| format!("{status}: {sent} done, {failed} failed"),
    notify_me: "Notify me when it ends",
    notify_on: "You will be notified when it ends.",
};

/// Spanish.
pub static ES_COCKPIT: CockpitText = CockpitText {
    pace_label: "Ritmo",
    rate: "Ritmo (últimos 10 s)",
    rate_value: |rate| format!("{rate:.1}/s").replace('.', ","),
    eta: "Tiempo restante",
    elapsed: "Tiempo en marcha",
    no_value: "—",
    stalled: |duration| format!("Detenido: nada se ha movido en {duration}"),
    stalled_hint: "El registro de abajo muestra lo último que ha pasado y cualquier error.",
    chart_title: "Ritmo, últimos 2 minutos",
    chart_summary: |sent, failed, seconds| {
        format!("{sent} enviados y {failed} fallidos en los últimos {seconds} s")
    },
    chart_peak: |peak| format!("máximo {peak}/s"),
    legend_sent: "enviados",
    legend_failed: "fallidos",
    seconds_ago: |seconds| format!("hace {seconds} s"),
    now: "ahora",
    last_update: |ago| {
        format!("Última actualización hace {ago}: estas cifras pueden estar atrasadas.")
    },
    offline_controls: "Sin conexión: los botones vuelven cuando vuelva la conexión.",
    send_rest: |n| format!("Enviar el resto ({n})"),
    send_rest_hint: "Un envío nuevo del mismo mensaje a los destinatarios que este no intentó.",
    export_not_sent: "Exportar no enviados",
    failures_title: "Fallos por motivo",
    col_reason: "Motivo",
    col_count: "Destinatarios",
    col_actions: "Acciones",
    retry_these: "Reintentar solo estos",
    menu: "Menú",
    nav_label: "Principal",
    milestone: |percent| format!("{percent} % hecho"),
    ended: |status, sent, failed| format!("{status}: {sent} hechos, {failed} fallidos"),
    notify_me: "Avisarme cuando termine",
    notify_on: "Te avisaremos cuando termine.",
};
