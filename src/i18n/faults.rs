//! How each language words why a message was not sent (`SendFault`) and what a search is
//! doing (`StageNote`).

use crate::i18n::group_thousands;
use std::time::Duration;

use crate::protocol::fault::{
    FetchFault, Gateway, NextPage, SendFault, SkipReason, SourceNote, StageNote, human_duration,
    human_size, wablas_code,
};

/// Spanish.
pub fn es(fault: &SendFault) -> String {
    match fault {
        SendFault::NotOnWhatsapp => "el destinatario no está en WhatsApp".into(),
        SendFault::ProviderTimeout => "el proveedor no respondió a tiempo".into(),
        SendFault::ProviderUnreachable => "no se pudo conectar con el proveedor".into(),
        SendFault::ProviderRequestFailed => "falló la petición al proveedor".into(),
        SendFault::ProviderStatus { status } => format!("el proveedor respondió {status}"),
        SendFault::ProviderSaid { text } => format!("el proveedor dijo: «{text}»"),
        SendFault::GaveUp { attempts, last } => {
            format!("{} (abandonado tras {attempts} intentos)", es(last))
        }
        SendFault::InFlightWhenStopped => {
            "en curso cuando se detuvo su ejecución; no se reenvía automáticamente".into()
        }
        SendFault::GatewayCode {
            gateway,
            error_code,
            said,
        } => match (
            es_gateway(*gateway, *error_code),
            gateway.numbers_its_errors(),
        ) {
            (Some(words), true) => format!("{words} (error {error_code} de {})", gateway.name()),
            (None, true) => format!(
                "{} lo rechazó (error {error_code}): «{said}»",
                gateway.name()
            ),
            (Some(words), false) => format!("{words} ({}: «{said}»)", gateway.name()),
            (None, false) => format!("{} lo rechazó: «{said}»", gateway.name()),
        },
        SendFault::SenderUnusable { name } => format!(
            "el emisor «{name}» no puede enviar: se desactivó o se eliminó, o sus secretos no se abren con la secret_key de este servidor"
        ),
        SendFault::ProviderState {
            gateway,
            state,
            quality,
        } => match quality {
            Some(quality) => format!(
                "{} informa de que el emisor está en estado {state} (calificación de calidad {quality})",
                gateway.name()
            ),
            None => format!(
                "{} informa de que el emisor está en estado {state}",
                gateway.name()
            ),
        },
    }
}

/// Spanish. HTTP's reason phrase and the system's own words (`cause`) stay as they came: they
/// are what a person looks up.
pub fn es_fetch(fault: &FetchFault) -> String {
    let base = match fault {
        FetchFault::Status { status, reason, .. } => {
            format!("HTTP {status} {reason}").trim_end().to_owned()
        }
        FetchFault::Timeout { after_ms, .. } => {
            format!("sin respuesta en {}", es_duration(*after_ms))
        }
        FetchFault::CouldNotConnect { site, cause, .. } => format!(
            "no se pudo conectar con {} ({cause})",
            site.as_deref().unwrap_or("el sitio")
        ),
        FetchFault::ConnectionFailed { cause, .. } => format!("la conexión falló ({cause})"),
        FetchFault::TooManyRedirects => "demasiadas redirecciones".into(),
        FetchFault::TooLarge { max_bytes } => format!(
            "la respuesta ocupa más de {}, más de lo que jobpulse lee",
            human_size(*max_bytes as usize)
        ),
        FetchFault::RequestNotMade { cause } => {
            format!("no se pudo hacer la petición: {cause}")
        }
        FetchFault::NotItems { detail } => {
            format!("la página del dataset no era una lista JSON de elementos ({detail})")
        }
    };
    match fault.attempts() {
        0 | 1 => base,
        n => format!("{base} tras {n} intentos"),
    }
}

/// "1,5 s": a duration with Spanish's decimal comma.
pub(super) fn es_duration(ms: u64) -> String {
    human_duration(Duration::from_millis(ms)).replace('.', ",")
}

/// What a gateway's known error code means, in Spanish.
fn es_gateway(gateway: Gateway, code: i64) -> Option<&'static str> {
    Some(match (gateway, code) {
        (Gateway::WhatsappCloud, 130429) => "se alcanzó el límite de envío de la Cloud API",
        (Gateway::WhatsappCloud, 131056) => {
            "demasiados mensajes a este número en poco tiempo (límite por par)"
        }
        (Gateway::WhatsappCloud, 131048) => {
            "límite por spam: demasiados mensajes recientes fueron bloqueados o denunciados"
        }
        (Gateway::WhatsappCloud, 4 | 80007) => "se alcanzó el límite de la cuenta de empresa",
        (Gateway::WhatsappCloud, 131026) => {
            "WhatsApp no pudo entregarlo (puede que el número no use WhatsApp o tenga la app \
             desactualizada)"
        }
        (Gateway::WhatsappCloud, 131047) => {
            "han pasado más de 24 horas desde el último mensaje del destinatario: solo se puede \
             enviar una plantilla"
        }
        (Gateway::WhatsappCloud, 131051) => "este tipo de mensaje no se admite",
        (Gateway::WhatsappCloud, 131057) => "la cuenta de empresa está en mantenimiento",
        (Gateway::WhatsappCloud, 131021) => "el destinatario es el propio número del remitente",
        (Gateway::WhatsappCloud, 190) => "el token de acceso caducó o no es válido",
        (Gateway::WhatsappCloud, 133010) => {
            "el número del remitente no está registrado en la Cloud API"
        }
        (Gateway::WhatsappCloud, 368) => {
            "el remitente está bloqueado temporalmente por incumplir las políticas de WhatsApp"
        }
        (Gateway::WhatsappCloud, 1 | 2 | 131000 | 131016) => "WhatsApp tuvo un problema temporal",
        (Gateway::Twilio, 20003) => {
            "Twilio rechazó el SID de la cuenta o el token de autenticación"
        }
        (Gateway::Twilio, 20429) => "demasiadas peticiones a Twilio a la vez",
        (Gateway::Twilio, 30001) => {
            "la cola del remitente se desbordó: llegaron mensajes más rápido de lo que puede \
             enviarlos"
        }
        (Gateway::Twilio, 63018) => "se alcanzó el límite de envío del remitente de WhatsApp",
        (Gateway::Twilio, 21610) => "el destinatario se dio de baja (respondió STOP)",
        (Gateway::Twilio, 21211) => "el número no es un número de teléfono válido",
        (Gateway::Twilio, 21614) => "el número no es un móvil",
        (Gateway::Twilio, 21408) => {
            "la cuenta de Twilio no puede enviar al país o región de este número"
        }
        (Gateway::Twilio, 30003) => {
            "el teléfono del destinatario no está localizable (apagado o sin cobertura)"
        }
        (Gateway::Twilio, 30005) => "el número es desconocido o ya no está en servicio",
        (Gateway::Twilio, 30006) => "el número es un fijo o su operador no puede recibir mensajes",
        (Gateway::Twilio, 30007) => {
            "el operador o Twilio filtró el mensaje (filtro de spam o de fraude)"
        }
        (Gateway::Twilio, 63016) => {
            "han pasado más de 24 horas desde el último mensaje del destinatario en WhatsApp: solo \
             se puede enviar una plantilla"
        }
        (Gateway::Wablas, wablas_code::DEVICE_DISCONNECTED) => {
            "el dispositivo de Wablas no está conectado a WhatsApp (hay que volver a escanear su \
             código QR)"
        }
        (Gateway::Wablas, wablas_code::QUOTA_USED_UP) => {
            "se agotó la cuota de mensajes del dispositivo de Wablas"
        }
        (Gateway::Wablas, wablas_code::RATE_LIMITED) => "se alcanzó el límite de envío de Wablas",
        (Gateway::Wablas, wablas_code::TOKEN_REFUSED) => {
            "Wablas rechazó el token o la clave secreta"
        }
        (Gateway::Wablas, wablas_code::DEVICE_EXPIRED) => {
            "la suscripción del dispositivo de Wablas caducó"
        }
        (Gateway::Wablas, wablas_code::INVALID_PHONE) => {
            "el número no es un número de teléfono válido"
        }
        (Gateway::Wablas, wablas_code::NOT_ON_WHATSAPP) => {
            "el número no está registrado en WhatsApp"
        }
        _ => return None,
    })
}

/// Spanish stage notes.
pub fn es_note(note: &StageNote) -> String {
    let n = |n: &u64| group_thousands(*n, '.');
    match note {
        StageNote::CheckingSource => "Comprobando la fuente".into(),
        StageNote::Source { note } => es_source(note),
        StageNote::Searched {
            said,
            new,
            found,
            target,
        } => format!(
            "{}: {}, {} de {} hasta ahora",
            es_source(said),
            match new {
                1 => "1 nuevo".to_owned(),
                new => format!("{} nuevos", n(new)),
            },
            n(found),
            n(target)
        ),
        StageNote::RanOut { found, target } => format!(
            "La fuente se agotó tras {} de los {} resultados pedidos",
            n(found),
            n(target)
        ),
        StageNote::TargetReached { found } => {
            format!("Objetivo alcanzado: {} resultados", n(found))
        }
    }
}

fn es_results(count: u64) -> String {
    match count {
        1 => "1 resultado".into(),
        n => format!("{} resultados", group_thousands(n, '.')),
    }
}

/// The technical part of a note in Spanish: its code when the event has one (older events
/// carry only the English words).
fn technical(error: &str, fault: &Option<FetchFault>) -> String {
    fault
        .as_ref()
        .map(es_fetch)
        .unwrap_or_else(|| error.to_owned())
}

/// What a source says of a step, in Spanish. An HTTP status read (`answer`) stays as it was.
pub fn es_source(note: &SourceNote) -> String {
    match note {
        SourceNote::RobotsAllow {
            host,
            agent,
            crawl_delay_ms,
        } => {
            let mut note = format!("el robots.txt de {host} permite la búsqueda a {agent}");
            if let Some(ms) = crawl_delay_ms {
                let delay = human_duration(Duration::from_millis(*ms)).replace('.', ",");
                note.push_str(&format!("; su Crawl-delay deja {delay} entre peticiones"));
            }
            note
        }
        SourceNote::NoRobots { host, answer } => {
            format!("{host} no tiene robots.txt ({answer}): sin reglas de rastreo")
        }
        SourceNote::FirstPage {
            keyword,
            answer,
            bytes,
        } => format!(
            "Leída la primera página de «{keyword}» ({answer}, {})",
            human_size(*bytes as usize)
        ),
        SourceNote::FirstPageUnread {
            keyword,
            error,
            fault,
        } => format!(
            "No se pudo leer la primera página de «{keyword}»: {}",
            technical(error, fault)
        ),
        SourceNote::Page {
            page,
            keyword,
            results,
            skipped,
            next,
        } => {
            let mut note = format!("Página {page} de «{keyword}»: {}", es_results(*results));
            match skipped {
                0 => {}
                1 => note.push_str(" (1 elemento sin enlace omitido)"),
                n => note.push_str(&format!(" ({n} elementos sin enlace omitidos)")),
            }
            note.push_str(&match next {
                NextPage::None => String::new(),
                NextPage::Follows => ", hay página siguiente".into(),
                NextPage::LoopsBack => format!(
                    "; su enlace «siguiente» vuelve a una página ya leída, así que «{keyword}» termina aquí"
                ),
                NextPage::MaxPages { max } => {
                    format!("; «{keyword}» se detiene en max_pages ({max})")
                }
                NextPage::OtherSite { site } => format!(
                    "; la página siguiente está en otro sitio ({site}), así que «{keyword}» termina aquí"
                ),
                NextPage::RobotsDisallow { path } => format!(
                    "; robots.txt no permite la página siguiente ({path}), así que «{keyword}» termina aquí"
                ),
            });
            note
        }
        SourceNote::PageUnread {
            page,
            keyword,
            error,
            more_keywords,
            fault,
        } => format!(
            "No se pudo leer la página {page} de «{keyword}»: {}; {}",
            technical(error, fault),
            if *more_keywords {
                "se sigue con la siguiente palabra clave"
            } else {
                "no quedan palabras clave"
            }
        ),
        SourceNote::Skipped { keyword, why } => match why {
            SkipReason::BadUrl { error } => format!("Se omitió «{keyword}»: {error}"),
            SkipReason::RobotsDisallow { site, path, agent } => format!(
                "Se omitió «{keyword}»: el robots.txt de {site} no permite {path} al agente {agent}"
            ),
            SkipReason::OtherSite { site } => {
                format!("Se omitió «{keyword}»: su búsqueda está en otro sitio ({site})")
            }
        },
        SourceNote::NothingToRead => "Nada que leer".into(),
        SourceNote::NothingToAnalyze => "Nada que analizar".into(),
        SourceNote::ActorAvailable { name } => {
            format!("El actor de Apify {name} está disponible")
        }
        SourceNote::RunStarted { run, status } => {
            format!("Iniciada la ejecución de Apify {run} ({status})")
        }
        SourceNote::RunSucceeded { run } => {
            format!("La ejecución de Apify {run} terminó bien (SUCCEEDED)")
        }
        SourceNote::DatasetItems {
            first,
            last,
            results,
            skipped,
            url_field,
        } => {
            let mut note = format!(
                "Elementos {first}–{last} del dataset: {}",
                es_results(*results)
            );
            if *skipped > 0 {
                note.push_str(&format!(
                    " ({skipped} sin un «{url_field}» utilizable, omitidos)"
                ));
            }
            note
        }
        SourceNote::DatasetUnread {
            first,
            error,
            fault,
        } => format!(
            "No se pudieron leer los elementos del dataset desde el {first}: {}; se detiene ahí",
            technical(error, fault)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_codes_name_the_gateway_and_wablas_shows_its_words_not_our_numbers() {
        let unsubscribed = SendFault::GatewayCode {
            gateway: Gateway::Twilio,
            error_code: 21610,
            said: "Attempt to send to unsubscribed recipient".into(),
        };
        assert_eq!(
            unsubscribed.english(),
            "the recipient has unsubscribed (replied STOP) (Twilio error 21610)"
        );
        assert_eq!(
            es(&unsubscribed),
            "el destinatario se dio de baja (respondió STOP) (error 21610 de Twilio)"
        );
        let unknown_twilio = SendFault::GatewayCode {
            gateway: Gateway::Twilio,
            error_code: 21606,
            said: "The From phone number is not a valid, SMS-capable number".into(),
        };
        assert_eq!(
            es(&unknown_twilio),
            "Twilio lo rechazó (error 21606): «The From phone number is not a valid, SMS-capable \
             number»"
        );
        let disconnected = SendFault::GatewayCode {
            gateway: Gateway::Wablas,
            error_code: wablas_code::DEVICE_DISCONNECTED,
            said: "device disconnected".into(),
        };
        assert_eq!(
            disconnected.english(),
            "the Wablas device is not connected to WhatsApp (its QR code must be scanned again) \
             (Wablas: “device disconnected”)"
        );
        assert_eq!(
            es(&disconnected),
            "el dispositivo de Wablas no está conectado a WhatsApp (hay que volver a escanear su \
             código QR) (Wablas: «device disconnected»)"
        );
        let unknown_wablas = SendFault::GatewayCode {
            gateway: Gateway::Wablas,
            error_code: wablas_code::UNRECOGNISED,
            said: "something odd".into(),
        };
        assert_eq!(
            unknown_wablas.english(),
            "Wablas refused it: “something odd”"
        );
        assert_eq!(es(&unknown_wablas), "Wablas lo rechazó: «something odd»");
    }

    #[test]
    fn every_fault_is_worded_in_both_languages() {
        let faults = [
            SendFault::NotOnWhatsapp,
            SendFault::ProviderTimeout,
            SendFault::ProviderUnreachable,
            SendFault::ProviderRequestFailed,
            SendFault::ProviderStatus { status: 503 },
            SendFault::ProviderSaid {
                text: "quota exceeded".into(),
            },
            SendFault::GaveUp {
                attempts: 3,
                last: Box::new(SendFault::ProviderTimeout),
            },
            SendFault::InFlightWhenStopped,
            SendFault::GatewayCode {
                gateway: Gateway::WhatsappCloud,
                error_code: 131056,
                said: "pair rate limit hit".into(),
            },
            SendFault::GatewayCode {
                gateway: Gateway::WhatsappCloud,
                error_code: 999_999,
                said: "Something new".into(),
            },
        ];
        for code in [
            1, 2, 4, 190, 368, 80007, 130429, 131000, 131016, 131021, 131026, 131047, 131048,
            131051, 131056, 131057, 133010,
        ] {
            let (en, es) = (
                Gateway::WhatsappCloud.english(code),
                es_gateway(Gateway::WhatsappCloud, code),
            );
            assert!(
                en.is_some() && es.is_some() && en != es,
                "WhatsApp code {code}"
            );
        }
        for code in [
            20003, 20429, 21211, 21408, 21610, 21614, 30001, 30003, 30005, 30006, 30007, 63016,
            63018,
        ] {
            let (en, es) = (
                Gateway::Twilio.english(code),
                es_gateway(Gateway::Twilio, code),
            );
            assert!(
                en.is_some() && es.is_some() && en != es,
                "Twilio code {code}"
            );
        }
        for code in [
            wablas_code::DEVICE_DISCONNECTED,
            wablas_code::QUOTA_USED_UP,
            wablas_code::RATE_LIMITED,
            wablas_code::TOKEN_REFUSED,
            wablas_code::DEVICE_EXPIRED,
            wablas_code::INVALID_PHONE,
            wablas_code::NOT_ON_WHATSAPP,
        ] {
            let (en, es) = (
                Gateway::Wablas.english(code),
                es_gateway(Gateway::Wablas, code),
            );
            assert!(
                en.is_some() && es.is_some() && en != es,
                "Wablas code {code}"
            );
        }
        for fault in &faults {
            let (en, es) = (fault.english(), es(fault));
            assert!(!en.is_empty() && !es.is_empty());
            assert_ne!(en, es, "{fault:?} is not translated");
        }
        assert_eq!(
            es_note(&StageNote::RanOut {
                found: 1200,
                target: 5000
            }),
            "La fuente se agotó tras 1.200 de los 5.000 resultados pedidos"
        );
        let page = SourceNote::Page {
            page: 2,
            keyword: "rust".into(),
            results: 1,
            skipped: 3,
            next: NextPage::MaxPages { max: 2 },
        };
        assert_eq!(
            page.english(),
            "Page 2 for “rust”: 1 result (3 items without a link skipped); “rust” stops at max_pages (2)"
        );
        assert_eq!(
            es_note(&StageNote::Searched {
                said: page,
                new: 1,
                found: 21,
                target: 100
            }),
            "Página 2 de «rust»: 1 resultado (3 elementos sin enlace omitidos); «rust» se detiene en \
             max_pages (2): 1 nuevo, 21 de 100 hasta ahora"
        );
        assert_eq!(
            es(&faults[6]),
            "el proveedor no respondió a tiempo (abandonado tras 3 intentos)"
        );
    }
}
