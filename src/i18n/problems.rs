//! How each language words a `Problem` and a lifecycle `Refusal`: the server's error answers
//! and the pages' error boxes read from here.

use crate::protocol::JobStatus;
use crate::protocol::lifecycle::Refusal;
use crate::protocol::problem::{Denial, Problem, Thing};

/// English.
pub fn en(problem: &Problem) -> String {
    match problem {
        Problem::SessionEnded => "Your session has ended: log in again.".into(),
        Problem::Unauthorized => {
            "Log in, or send an API token as 'Authorization: Bearer <token>'.".into()
        }
        Problem::WrongPassword => "Wrong workspace, username or password.".into(),
        Problem::WrongWorker => {
            "Send this job's worker_token as 'Authorization: Bearer <worker_token>'.".into()
        }
        Problem::NotFound { thing } => match thing {
            Thing::Job => "Job not found.",
            Thing::Campaign => "Campaign not found.",
            Thing::User => "User not found.",
            Thing::Token => "Token not found.",
            Thing::Endpoint => "There is no such API endpoint; see CONTRACT.md for the routes.",
        }
        .into(),
        Problem::Forbidden { denial } => match denial {
            Denial::WatchOnly => "Your role can watch jobs but not start or change them.",
            Denial::AdminsOnly => "Only admins can manage users and API tokens.",
            Denial::CrossSite => {
                "Cross-site requests are refused: use jobpulse's own pages, or an API token."
            }
            Denial::NoCsrfToken => {
                "This request lacks the page's CSRF token: reload the page and try again."
            }
        }
        .into(),
        Problem::Refused { refusal } => en_refusal(*refusal),
        Problem::Invalid { detail } | Problem::Conflict { detail } => detail.clone(),
        Problem::TooManyRequests { seconds } => {
            format!(
                "Too many requests: slow down and try again in {}.",
                en_seconds(*seconds)
            )
        }
        Problem::TooManyLogins { seconds } => {
            format!(
                "Too many login attempts: try again in {}.",
                en_seconds(*seconds)
            )
        }
        Problem::Busy => "The server is busy checking other logins: try again in a moment.".into(),
        Problem::TooLarge { kib } => format!("The request is too large: send at most {kib} KiB."),
        Problem::SlowBody => "The request body arrived too slowly: send it again.".into(),
        Problem::Unavailable => "The database is not answering; try again in a moment.".into(),
        Problem::Network => {
            "The server could not be reached: check the connection and try again.".into()
        }
        Problem::Other { detail } => detail.clone(),
    }
}

fn en_seconds(seconds: u64) -> String {
    match seconds {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}

/// "completed", "failed", "been cancelled": how a sentence says a job got to `status`.
fn en_done(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "been cancelled",
        JobStatus::Paused => "been paused",
        JobStatus::Pending | JobStatus::Processing => "started",
    }
}

fn en_refusal(refusal: Refusal) -> String {
    match refusal {
        Refusal::Ended { status, command } => format!(
            "The job has already {}; there is nothing to {}.",
            en_done(status),
            command.verb()
        ),
        Refusal::AlreadyPaused => "The job is already paused.".into(),
        Refusal::WorkerMovesIt => "An outside worker runs this job: it can be cancelled here, but only its worker moves it on.".into(),
        Refusal::BeingCancelled => "The job is being cancelled already.".into(),
        Refusal::ChangedMeanwhile => "The job changed meanwhile; look at it again and retry.".into(),
        Refusal::NothingLeftToResume => {
            "Every item of this job has an outcome: use \"retry failed items\" instead.".into()
        }
        Refusal::AlreadyRunning => "The job is not paused: it is running already.".into(),
        Refusal::NotResumable { status } => format!(
            "The job has {}; only paused or failed jobs can be resumed.",
            en_done(status)
        ),
        Refusal::SearchHasNoItems => "A search has no items to retry: run the campaign again to look for more results.".into(),
        Refusal::CancelledIsNotRetried => {
            "A cancelled job is not retried: start a new send for its recipients.".into()
        }
        Refusal::NotFinished => {
            "Only a finished job can retry its failed items; wait until this one ends.".into()
        }
        Refusal::NothingToRetry {
            include_unknown: true,
        } => "There are no failed or unknown items to retry.".into(),
        Refusal::NothingToRetry {
            include_unknown: false,
        } => "There are no failed items to retry.".into(),
    }
}

/// Spanish.
pub fn es(problem: &Problem) -> String {
    match problem {
        Problem::SessionEnded => "Tu sesión ha terminado: vuelve a iniciar sesión.".into(),
        Problem::Unauthorized => {
            "Inicia sesión, o envía un token de API como 'Authorization: Bearer <token>'.".into()
        }
        Problem::WrongPassword => "Espacio de trabajo, usuario o contraseña incorrectos.".into(),
        Problem::WrongWorker => {
            "Envía el worker_token de este trabajo como 'Authorization: Bearer <worker_token>'."
                .into()
        }
        Problem::NotFound { thing } => match thing {
            Thing::Job => "No se encontró el trabajo.",
            Thing::Campaign => "No se encontró la campaña.",
            Thing::User => "No se encontró el usuario.",
            Thing::Token => "No se encontró el token.",
            Thing::Endpoint => "Esa ruta de la API no existe; consulta CONTRACT.md.",
        }
        .into(),
        Problem::Forbidden { denial } => match denial {
            Denial::WatchOnly => "Tu rol puede ver los trabajos pero no iniciarlos ni cambiarlos.",
            Denial::AdminsOnly => "Solo los administradores gestionan usuarios y tokens de API.",
            Denial::CrossSite => {
                "Se rechazan las peticiones desde otros sitios: usa las páginas de jobpulse o un token de API."
            }
            Denial::NoCsrfToken => {
                "A esta petición le falta el token CSRF de la página: recárgala y vuelve a intentarlo."
            }
        }
        .into(),
        Problem::Refused { refusal } => es_refusal(*refusal),
        Problem::Invalid { detail } | Problem::Conflict { detail } => detail.clone(),
        Problem::TooManyRequests { seconds } => format!(
            "Demasiadas peticiones: ve más despacio y vuelve a intentarlo en {}.",
            es_seconds(*seconds)
        ),
        Problem::TooManyLogins { seconds } => format!(
            "Demasiados intentos de inicio de sesión: vuelve a intentarlo en {}.",
            es_seconds(*seconds)
        ),
        Problem::Busy => {
            "El servidor está ocupado comprobando otros inicios de sesión: inténtalo de nuevo en un momento."
                .into()
        }
        Problem::TooLarge { kib } => {
            format!("La petición es demasiado grande: envía como mucho {kib} KiB.")
        }
        Problem::SlowBody => "El cuerpo de la petición llegó demasiado despacio: vuelve a enviarlo.".into(),
        Problem::Unavailable => {
            "La base de datos no responde; inténtalo de nuevo en un momento.".into()
        }
        Problem::Network => {
            "No se pudo contactar con el servidor: revisa la conexión y vuelve a intentarlo.".into()
        }
        Problem::Other { detail } => detail.clone(),
    }
}

fn es_seconds(seconds: u64) -> String {
    match seconds {
        1 => "1 segundo".to_owned(),
        n => format!("{n} segundos"),
    }
}

/// "se completó", "falló", "se canceló": cómo dice una frase que un trabajo llegó a `status`.
fn es_done(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "se completó",
        JobStatus::Failed => "falló",
        JobStatus::Cancelled => "se canceló",
        JobStatus::Paused => "se pausó",
        JobStatus::Pending | JobStatus::Processing => "empezó",
    }
}

fn es_refusal(refusal: Refusal) -> String {
    use crate::protocol::lifecycle::Command;
    match refusal {
        Refusal::Ended { status, command } => format!(
            "El trabajo ya {}; no hay nada que {}.",
            es_done(status),
            match command {
                Command::Pause => "pausar",
                Command::Cancel => "cancelar",
                Command::Resume => "reanudar",
                Command::Retry { .. } => "reintentar",
            }
        ),
        Refusal::AlreadyPaused => "El trabajo ya está en pausa.".into(),
        Refusal::WorkerMovesIt => "Este trabajo lo ejecuta un worker externo: aquí se puede cancelar, pero solo su worker lo hace avanzar.".into(),
        Refusal::BeingCancelled => "El trabajo ya se está cancelando.".into(),
        Refusal::ChangedMeanwhile => {
            "El trabajo cambió mientras tanto; vuelve a mirarlo e inténtalo de nuevo.".into()
        }
        Refusal::NothingLeftToResume => {
            "Todos los elementos de este trabajo tienen resultado: usa «reintentar fallidos»."
                .into()
        }
        Refusal::AlreadyRunning => "El trabajo no está en pausa: ya está en marcha.".into(),
        Refusal::NotResumable { status } => format!(
            "El trabajo {}; solo se reanudan trabajos en pausa o fallidos.",
            es_done(status)
        ),
        Refusal::SearchHasNoItems => "Una búsqueda no tiene elementos que reintentar: vuelve a ejecutar la campaña para buscar más resultados.".into(),
        Refusal::CancelledIsNotRetried => {
            "Un trabajo cancelado no se reintenta: inicia un envío nuevo para sus destinatarios."
                .into()
        }
        Refusal::NotFinished => {
            "Solo un trabajo terminado reintenta sus fallidos; espera a que termine este.".into()
        }
        Refusal::NothingToRetry {
            include_unknown: true,
        } => "No hay elementos fallidos ni desconocidos que reintentar.".into(),
        Refusal::NothingToRetry {
            include_unknown: false,
        } => "No hay elementos fallidos que reintentar.".into(),
    }
}
