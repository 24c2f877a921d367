//! How each language words why work stopped: a source that cannot go on (`SourceFault`) and a
//! failed job (`JobFault`).

use super::faults::{es_duration, es_fetch};
use super::problems::{es_address, es_source_rule};
use crate::protocol::failure::{ApifyStep, Blocked, JobFault, SourceFault, Target};
#[cfg(test)]
use crate::protocol::fault::FetchFault;

fn es_target(target: &Target) -> String {
    match target {
        Target::SearchUrl => "la URL de búsqueda".into(),
        Target::ApifyBaseUrl { url } => format!("la base_url de Apify ({url})"),
        Target::Url { url } => url.clone(),
        Target::RedirectTo { url } => format!("una redirección a {url}"),
    }
}

fn es_blocked(blocked: &Blocked) -> String {
    match blocked {
        Blocked::Address { what, kind, ip } => format!(
            "{} apunta a {} ({ip}), que las búsquedas no pueden leer; un administrador puede \
             permitirlo con scrape.allow_private_addresses",
            es_target(what),
            es_address(*kind)
        ),
        Blocked::Resolves { host, addresses } => format!(
            "{host} solo resuelve a direcciones privadas ({}), que las búsquedas no pueden leer; \
             un administrador puede permitirlas con scrape.allow_private_addresses",
            addresses.join(", ")
        ),
        Blocked::NotDemoSite { what, demo } => format!(
            "{} no está en el sitio de demostración ({}), el único lugar al que va su lector",
            es_target(what),
            demo.as_deref().unwrap_or("desconocido")
        ),
    }
}

fn es_step(step: &ApifyStep) -> String {
    match step {
        ApifyStep::LookUpActor { actor } => format!("buscar el actor «{actor}»"),
        ApifyStep::StartActor { actor } => format!("iniciar el actor «{actor}»"),
        ApifyStep::CheckRun { run } => format!("consultar la ejecución {run}"),
        ApifyStep::ReadDataset { dataset } => format!("leer el dataset {dataset}"),
        ApifyStep::AbortRun { run } => format!("detener la ejecución {run}"),
    }
}

fn colon(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// Why a source cannot go on, in Spanish.
pub fn es_source_fault(fault: &SourceFault) -> String {
    match fault {
        SourceFault::SettingsUnreadable => {
            "No se pudo leer la configuración de búsqueda del trabajo; crea la campaña de nuevo."
                .into()
        }
        SourceFault::NoKeywords => "la campaña no tiene palabras clave que buscar".into(),
        SourceFault::Settings { rule } => es_source_rule(rule),
        SourceFault::Blocked { blocked } => es_blocked(blocked),
        SourceFault::RobotsWhere { host } => {
            format!("no se sabe dónde está el robots.txt de {host}")
        }
        SourceFault::RobotsUnread { host, why } => format!(
            "no se pudo leer el robots.txt de {host} ({}); como Google, jobpulse trata un sitio \
             cuyo robots.txt falla así como cerrado a los rastreadores. Vuelve a intentarlo \
             cuando el sitio responda",
            es_fetch(why)
        ),
        SourceFault::RobotsNotUnderstood { host, detail } => format!(
            "no se pudo entender el robots.txt de {host} ({detail}), así que jobpulse no entra"
        ),
        SourceFault::RobotsDisallow { host, path, agent } => {
            format!("el robots.txt de {host} no permite {path} al agente {agent}")
        }
        SourceFault::ApifyUnreachable {
            base_url,
            step,
            why,
        } => format!(
            "no se pudo llegar a Apify en {base_url} para {}: {}",
            es_step(step),
            es_fetch(why)
        ),
        SourceFault::ApifyTokenRefused { answer, detail } => format!(
            "Apify rechazó el token ({}{}); revisa el token de API de la campaña",
            es_fetch(answer),
            colon(detail)
        ),
        SourceFault::ApifyAnswered {
            step,
            answer,
            detail,
        } => format!(
            "Apify respondió {} al pedirle {}{}",
            es_fetch(answer),
            es_step(step),
            colon(detail)
        ),
        SourceFault::ApifyNotUnderstood { step, detail } => format!(
            "no se entendió la respuesta de Apify al pedirle {} ({detail})",
            es_step(step)
        ),
        SourceFault::ActorNotFound { actor, base_url } => format!(
            "no se encontró el actor «{actor}» en {base_url}: revisa su id o usuario~nombre"
        ),
        SourceFault::RunNotStarted => "la ejecución de Apify no se llegó a iniciar".into(),
        SourceFault::RunEnded {
            run,
            status,
            detail,
        } => format!(
            "la ejecución de Apify {run} terminó en {status}{}",
            colon(detail)
        ),
        SourceFault::BaseUrlNoPath => "base_url no admite una ruta".into(),
    }
}

/// Why a job failed and what to do about it, in Spanish; `error` is the event's own (an outside
/// worker's words, for `worker_reported`).
pub fn es_job(fault: &JobFault, error: &str) -> String {
    let (error, advice) = match fault {
        JobFault::ProviderDown { after_ms, last } => (
            format!(
                "el proveedor lleva {} sin aceptar ningún mensaje: {}",
                es_duration(*after_ms),
                super::faults::es(last)
            ),
            "Los elementos sin intentar siguen pendientes: reanuda el trabajo cuando el \
             proveedor vuelva.",
        ),
        JobFault::Source { fault } => (
            es_source_fault(fault),
            "La búsqueda se detuvo: corrige la configuración de la fuente y vuelve a lanzar la \
             campaña.",
        ),
        JobFault::WorkerSilent { after_ms } => (
            format!(
                "su worker no envió ningún informe en {}: se dio el trabajo por perdido. Crea un \
                 trabajo nuevo para volver a intentarlo.",
                es_duration(*after_ms)
            ),
            "Su worker solo podrá informar de nuevo en un trabajo nuevo.",
        ),
        JobFault::WorkerReported => (error.to_owned(), "Lo informó su worker externo."),
    };
    format!("{error} — {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::fault::SendFault;
    use crate::protocol::problem::AddressKind;

    fn samples() -> Vec<JobFault> {
        let status = FetchFault::Status {
            status: 503,
            reason: "Service Unavailable".into(),
            attempts: 3,
        };
        let timeout = FetchFault::Timeout {
            after_ms: 1_500,
            attempts: 1,
        };
        let step = ApifyStep::CheckRun { run: "r1".into() };
        let sources = vec![
            SourceFault::SettingsUnreadable,
            SourceFault::NoKeywords,
            SourceFault::Settings {
                rule: crate::protocol::problem::SourceRule::UrlFieldEmpty,
            },
            SourceFault::Blocked {
                blocked: Blocked::Address {
                    what: Target::SearchUrl,
                    kind: AddressKind::Loopback,
                    ip: "127.0.0.1".into(),
                },
            },
            SourceFault::Blocked {
                blocked: Blocked::Resolves {
                    host: "intranet".into(),
                    addresses: vec!["10.0.0.5".into()],
                },
            },
            SourceFault::Blocked {
                blocked: Blocked::NotDemoSite {
                    what: Target::RedirectTo {
                        url: "https://example.com/".into(),
                    },
                    demo: None,
                },
            },
            SourceFault::RobotsWhere { host: "a.b".into() },
            SourceFault::RobotsUnread {
                host: "a.b".into(),
                why: timeout.clone(),
            },
            SourceFault::RobotsNotUnderstood {
                host: "a.b".into(),
                detail: "x".into(),
            },
            SourceFault::RobotsDisallow {
                host: "a.b".into(),
                path: "/s".into(),
                agent: "jobpulse".into(),
            },
            SourceFault::ApifyUnreachable {
                base_url: "https://api.apify.com".into(),
                step: step.clone(),
                why: FetchFault::CouldNotConnect {
                    site: None,
                    cause: "Connection refused".into(),
                    attempts: 2,
                },
            },
            SourceFault::ApifyTokenRefused {
                answer: status.clone(),
                detail: Some("bad token".into()),
            },
            SourceFault::ApifyAnswered {
                step: step.clone(),
                answer: status.clone(),
                detail: None,
            },
            SourceFault::ApifyNotUnderstood {
                step: ApifyStep::ReadDataset {
                    dataset: "d".into(),
                },
                detail: "eof".into(),
            },
            SourceFault::ActorNotFound {
                actor: "a~b".into(),
                base_url: "https://api.apify.com".into(),
            },
            SourceFault::RunNotStarted,
            SourceFault::RunEnded {
                run: "r1".into(),
                status: "FAILED".into(),
                detail: None,
            },
            SourceFault::BaseUrlNoPath,
        ];
        let mut faults: Vec<JobFault> = sources
            .into_iter()
            .map(|fault| JobFault::Source { fault })
            .collect();
        faults.extend([
            JobFault::ProviderDown {
                after_ms: 30_000,
                last: SendFault::ProviderTimeout,
            },
            JobFault::WorkerSilent { after_ms: 60_000 },
            JobFault::WorkerReported,
        ]);
        faults
    }

    #[test]
    fn every_job_fault_is_worded_in_both_languages() {
        for fault in samples() {
            let english = fault.english().unwrap_or_else(|| "disk full".into());
            let (en, es) = (
                format!("{english} — {}", fault.advice()),
                es_job(&fault, "disk full"),
            );
            assert!(!en.is_empty() && !es.is_empty());
            assert_ne!(en, es, "{fault:?} is not translated");
            let json = serde_json::to_string(&fault).unwrap();
            assert_eq!(serde_json::from_str::<JobFault>(&json).unwrap(), fault);
        }
        assert!(es_job(&JobFault::WorkerReported, "disk full").starts_with("disk full — "));
    }

    #[test]
    fn the_technical_part_reads_in_spanish_too() {
        let fetch = [
            FetchFault::Status {
                status: 503,
                reason: "Service Unavailable".into(),
                attempts: 3,
            },
            FetchFault::Timeout {
                after_ms: 10_000,
                attempts: 2,
            },
            FetchFault::TooManyRedirects,
            FetchFault::TooLarge { max_bytes: 2048 },
        ];
        let spanish: Vec<String> = fetch.iter().map(es_fetch).collect();
        assert_eq!(
            spanish,
            [
                "HTTP 503 Service Unavailable tras 3 intentos",
                "sin respuesta en 10 s tras 2 intentos",
                "demasiadas redirecciones",
                "la respuesta ocupa más de 2 KB, más de lo que jobpulse lee",
            ]
        );
        assert_eq!(fetch[1].english(), "no answer within 10 s after 2 attempts");
    }
}
