//! A bulk send's sender lanes (one row per device) on the job page.

use crate::protocol::lanes::LaneState;

/// One language's strings of the sender lanes.
pub struct LanesText {
    pub title: &'static str,
    pub hint: &'static str,
    pub col_device: &'static str,
    pub col_state: &'static str,
    pub col_sent: &'static str,
    pub col_failed: &'static str,
    pub col_in_flight: &'static str,
    pub col_rate: &'static str,
    pub col_last_error: &'static str,
    pub state: fn(LaneState) -> &'static str,
    /// What the state means, for its tooltip and screen readers.
    pub state_hint: fn(LaneState) -> &'static str,
    pub server_provider: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    /// `Pause device {n}` / `Resume device {n}`, for screen readers.
    pub pause_label: fn(u32) -> String,
    pub resume_label: fn(u32) -> String,
}

/// English.
pub static EN_LANES: LanesText = LanesText {
    title: "Devices",
    hint: "One row per device. Pausing a device gives its share to the others; counts are what each device did across runs.",
    col_device: "Device",
    col_state: "State",
    col_sent: "Sent",
    col_failed: "Failed",
    col_in_flight: "In flight",
    col_rate: "Rate",
    col_last_error: "Last error",
    state: |state| match state {
        LaneState::Sending => "Sending",
        LaneState::Idle => "Idle",
        LaneState::Stalled => "Stuck",
        LaneState::Paused => "Paused",
        LaneState::Degraded => "Degraded",
        LaneState::Down => "Down",
        LaneState::Stopped => "Stopped",
    },
    state_hint: |state| match state {
        LaneState::Sending => "It is sending a message now.",
        LaneState::Idle => "Running, with nothing in hand: waiting for work or its sender's pace.",
        LaneState::Stalled => "It has held one message for a while without finishing anything.",
        LaneState::Paused => "Paused by an operator: the other devices take its share.",
        LaneState::Degraded => "Its sender keeps failing for a reason worth waiting out.",
        LaneState::Down => "Its sender is down: the other devices take its messages.",
        LaneState::Stopped => "The send is not running.",
    },
    server_provider: "Server's provider",
    pause: "Pause",
    resume: "Resume",
    pause_label: |n| format!("Pause device {n}"),
    resume_label: |n| format!("Resume device {n}"),
};

/// Spanish.
pub static ES_LANES: LanesText = LanesText {
    title: "Dispositivos",
    hint: "Una fila por dispositivo. Pausar un dispositivo pasa su parte a los demás; las cifras son lo que hizo cada uno en todas las ejecuciones.",
    col_device: "Dispositivo",
    col_state: "Estado",
    col_sent: "Enviados",
    col_failed: "Fallidos",
    col_in_flight: "En curso",
    col_rate: "Ritmo",
    col_last_error: "Último error",
    state: |state| match state {
        LaneState::Sending => "Enviando",
        LaneState::Idle => "En espera",
        LaneState::Stalled => "Atascado",
        LaneState::Paused => "En pausa",
        LaneState::Degraded => "Degradado",
        LaneState::Down => "Caído",
        LaneState::Stopped => "Detenido",
    },
    state_hint: |state| match state {
        LaneState::Sending => "Está enviando un mensaje ahora.",
        LaneState::Idle => {
            "En marcha, sin nada entre manos: espera trabajo o el ritmo de su emisor."
        }
        LaneState::Stalled => "Lleva un rato con un mensaje sin terminar nada.",
        LaneState::Paused => "Pausado por un operador: los demás dispositivos toman su parte.",
        LaneState::Degraded => "Su emisor falla una y otra vez por un motivo que conviene esperar.",
        LaneState::Down => "Su emisor está caído: los demás dispositivos toman sus mensajes.",
        LaneState::Stopped => "El envío no está en marcha.",
    },
    server_provider: "Proveedor del servidor",
    pause: "Pausar",
    resume: "Reanudar",
    pause_label: |n| format!("Pausar el dispositivo {n}"),
    resume_label: |n| format!("Reanudar el dispositivo {n}"),
};
