//! How each language words a request that cannot be read or taken as it is (`RequestRule`).

use crate::i18n::group_thousands;
use crate::protocol::JobStatus;
use crate::protocol::problem::{BodyKind, Problem, RequestRule};

/// The rule in English: REST's `detail`.
pub fn en(rule: &RequestRule) -> String {
    let n = |n: &u64| group_thousands(*n, ',');
    match rule {
        RequestRule::ContentType => {
            "Send the body as JSON with 'Content-Type: application/json'.".into()
        }
        RequestRule::BodyUnreadable => "The request body could not be read; send it again.".into(),
        RequestRule::NotJson { detail } => format!("The body is not valid JSON: {detail}"),
        RequestRule::BodyShape { body, detail } => {
            let what = match body {
                BodyKind::ExternalJob => "an outside worker's job",
                BodyKind::ProgressReport => "a progress report",
                BodyKind::ItemBatch => "a batch of items",
                BodyKind::FailureReport => "a failure report",
                BodyKind::Campaign => "a campaign",
                BodyKind::BulkSend => "a bulk send",
                BodyKind::Sender => "a sender",
                BodyKind::SenderChange => "a change to a sender",
                BodyKind::OptOut => "a number for the opt-out list",
                BodyKind::BulkAction => "an action on jobs ({\"action\", \"filter\"})",
                BodyKind::Hook => "a webhook ({\"url\", \"events\"})",
            };
            format!("The JSON does not describe {what}: {detail}")
        }
        RequestRule::RetryBody { detail } => {
            format!("The body must be {{\"include_unknown\": true|false}}: {detail}")
        }
        RequestRule::Query { detail } => format!("The query string is not valid: {detail}"),
        RequestRule::Limit { got, max } => {
            format!("limit must be between 1 and {max} (got {got}).")
        }
        RequestRule::Choice {
            name,
            value,
            choices,
        } => format!("{name} {value:?} is not one of {choices}."),
        RequestRule::Format { got } => format!("format must be json or csv (got {got:?})."),
        RequestRule::OffsetTooFar { offset } => {
            format!("offset {offset} is beyond any campaign's results.")
        }
        RequestRule::BothSeqs => "Give after_seq or before_seq, not both.".into(),
        RequestRule::Timestamp { name, value } => format!(
            "{name} must be a date and time such as 2026-12-04T09:30:00Z, or a day such as \
             2026-12-04 (got \"{value}\")."
        ),
        RequestRule::Cursor { value } => format!(
            "before must be a job id, as in the X-Next-Before header of the previous page (got \
             \"{value}\")."
        ),
        RequestRule::EntryCursor { value } => format!(
            "before must be the id of the last entry of the previous page (got \"{value}\")."
        ),
        RequestRule::NoFilter => "Name the jobs to act on with \"filter\" (the filters of GET \
             /jobs); \"filter\": {} acts on every job."
            .into(),
        RequestRule::Nul { field } => super::problems::en(&Problem::NulCharacter {
            field: field.clone(),
        }),
        RequestRule::Csv { detail } => format!("could not write the CSV: {detail}"),
        RequestRule::NotExternal { kind } => format!(
            "kind must be \"external\" (got {kind:?}): bulk sends are created with POST \
             /api/messages/send-bulk and searches with POST /api/campaigns."
        ),
        RequestRule::TotalTooLarge { got, max } => {
            format!("total must be at most {} (got {got}).", n(max))
        }
        RequestRule::TooManyStages { got, max } => {
            format!("There are {got} stages; the limit is {max}.")
        }
        RequestRule::StageTwice { stage } => format!("The stage “{stage}” is listed twice."),
        RequestRule::UnknownStage { stage, stages } => format!(
            "stage “{stage}” is not one of this job's stages: {}.",
            stages.join(", ")
        ),
        RequestRule::MessageTooLong { max } => {
            format!("message is longer than {} characters: shorten it.", n(max))
        }
        RequestRule::ProcessedOverTotal { processed, total } => format!(
            "processed is {processed} but the job has {total} items in all: report at most \
             its total."
        ),
        RequestRule::NoItems => "items is empty: send at least one item.".into(),
        RequestRule::TooManyItems { got, max } => {
            format!("There are {got} items; send at most {max} per request.")
        }
        RequestRule::ItemKey { index } => {
            format!("items[{index}].key must be 1 to 2,048 characters long.")
        }
        RequestRule::ItemStatus { index, got } => {
            format!("items[{index}].status must be \"ok\" or \"failed\" (got {got:?}).")
        }
        RequestRule::ItemData { index } => {
            format!("items[{index}].data is over 64 KiB: send less per item.")
        }
        RequestRule::OptOutPhone { phone, issue } => format!(
            "{phone:?} cannot go on the opt-out list: {}.",
            super::problems::en_phone(issue)
        ),
        RequestRule::Phone { phone, issue } => format!(
            "{phone:?} is not a phone number to look up: {}.",
            super::problems::en_phone(issue)
        ),
    }
}

/// The rule in Spanish.
pub fn es(rule: &RequestRule) -> String {
    let n = |n: &u64| group_thousands(*n, '.');
    match rule {
        RequestRule::ContentType => {
            "Envía el cuerpo como JSON con 'Content-Type: application/json'.".into()
        }
        RequestRule::BodyUnreadable => super::problems::es(&Problem::BodyUnreadable),
        RequestRule::NotJson { detail } => format!("El cuerpo no es JSON válido: {detail}"),
        RequestRule::BodyShape { body, detail } => {
            let what = match body {
                BodyKind::ExternalJob => "un trabajo de worker externo",
                BodyKind::ProgressReport => "un informe de progreso",
                BodyKind::ItemBatch => "un lote de elementos",
                BodyKind::FailureReport => "un informe de fallo",
                BodyKind::Campaign => "una campaña",
                BodyKind::BulkSend => "un envío masivo",
                BodyKind::Sender => "un emisor",
                BodyKind::SenderChange => "un cambio de un emisor",
                BodyKind::OptOut => "un número para la lista de bajas",
                BodyKind::BulkAction => "una acción sobre trabajos ({\"action\", \"filter\"})",
                BodyKind::Hook => "un webhook ({\"url\", \"events\"})",
            };
            format!("El JSON no describe {what}: {detail}")
        }
        RequestRule::RetryBody { detail } => {
            format!("El cuerpo debe ser {{\"include_unknown\": true|false}}: {detail}")
        }
        RequestRule::Query { detail } => format!("La query string no es válida: {detail}"),
        RequestRule::Limit { got, max } => {
            format!("limit debe estar entre 1 y {max} (llegó {got}).")
        }
        RequestRule::Choice {
            name,
            value,
            choices,
        } => format!("{name} {value:?} no es uno de estos: {choices}."),
        RequestRule::Format { got } => format!("format debe ser json o csv (llegó {got:?})."),
        RequestRule::OffsetTooFar { offset } => {
            format!("offset {offset} está más allá de los resultados de cualquier campaña.")
        }
        RequestRule::BothSeqs => "Indica after_seq o before_seq, no los dos.".into(),
        RequestRule::Timestamp { name, value } => format!(
            "{name} debe ser una fecha y hora como 2026-12-04T09:30:00Z, o un día como \
             2026-12-04 (llegó «{value}»)."
        ),
        RequestRule::Cursor { value } => format!(
            "before debe ser el id de un trabajo, como en la cabecera X-Next-Before de la página \
             anterior (llegó «{value}»)."
        ),
        RequestRule::EntryCursor { value } => format!(
            "before debe ser el id de la última entrada de la página anterior (llegó «{value}»)."
        ),
        RequestRule::NoFilter => "Indica los trabajos con \"filter\" (los filtros de GET \
             /jobs); \"filter\": {} actúa sobre todos."
            .into(),
        RequestRule::Nul { field } => super::problems::es(&Problem::NulCharacter {
            field: field.clone(),
        }),
        RequestRule::Csv { detail } => format!("no se pudo escribir el CSV: {detail}"),
        RequestRule::NotExternal { kind } => format!(
            "kind debe ser \"external\" (llegó {kind:?}): los envíos masivos se crean con POST \
             /api/messages/send-bulk y las búsquedas con POST /api/campaigns."
        ),
        RequestRule::TotalTooLarge { got, max } => {
            format!("total debe ser como mucho {} (llegó {got}).", n(max))
        }
        RequestRule::TooManyStages { got, max } => {
            format!("Hay {got} etapas; el límite es {max}.")
        }
        RequestRule::StageTwice { stage } => format!("La etapa «{stage}» aparece dos veces."),
        RequestRule::UnknownStage { stage, stages } => format!(
            "la etapa «{stage}» no es una de las etapas de este trabajo: {}.",
            stages.join(", ")
        ),
        RequestRule::MessageTooLong { max } => {
            format!("message tiene más de {} caracteres: acórtalo.", n(max))
        }
        RequestRule::ProcessedOverTotal { processed, total } => format!(
            "processed es {processed}, pero el trabajo tiene {total} elementos en total: informa \
             como mucho de su total."
        ),
        RequestRule::NoItems => "items está vacío: envía al menos un elemento.".into(),
        RequestRule::TooManyItems { got, max } => {
            format!("Hay {got} elementos; envía como mucho {max} por petición.")
        }
        RequestRule::ItemKey { index } => {
            format!("items[{index}].key debe tener de 1 a 2.048 caracteres.")
        }
        RequestRule::ItemStatus { index, got } => {
            format!("items[{index}].status debe ser \"ok\" o \"failed\" (llegó {got:?}).")
        }
        RequestRule::ItemData { index } => {
            format!("items[{index}].data ocupa más de 64 KiB: envía menos por elemento.")
        }
        RequestRule::OptOutPhone { phone, issue } => format!(
            "«{phone}» no puede ir a la lista de bajas: {}.",
            super::problems::es_phone(issue)
        ),
        RequestRule::Phone { phone, issue } => format!(
            "«{phone}» no es un teléfono que se pueda buscar: {}.",
            super::problems::es_phone(issue)
        ),
    }
}

/// A report for a job that has ended, in English.
pub fn en_ended(status: JobStatus) -> String {
    let how = match status {
        JobStatus::Completed => "completed",
        JobStatus::Cancelled => "been cancelled",
        _ => "failed",
    };
    format!("The job has {how} already: its worker should stop.")
}

/// The same in Spanish.
pub fn es_ended(status: JobStatus) -> String {
    let how = match status {
        JobStatus::Completed => "ya terminó",
        JobStatus::Cancelled => "ya se canceló",
        _ => "ya falló",
    };
    format!("El trabajo {how}: su worker debe detenerse.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_rule_is_worded_in_both_languages() {
        let detail = || "expected value at line 1 column 1".to_owned();
        let rules = [
            RequestRule::ContentType,
            RequestRule::BodyUnreadable,
            RequestRule::NotJson { detail: detail() },
            RequestRule::BodyShape {
                body: BodyKind::ProgressReport,
                detail: detail(),
            },
            RequestRule::RetryBody { detail: detail() },
            RequestRule::Query { detail: detail() },
            RequestRule::Limit { got: 0, max: 500 },
            RequestRule::Choice {
                name: "status".into(),
                value: "done".into(),
                choices: "pending, processing".into(),
            },
            RequestRule::Format { got: "xml".into() },
            RequestRule::OffsetTooFar { offset: 1 << 62 },
            RequestRule::BothSeqs,
            RequestRule::Timestamp {
                name: "created_after".into(),
                value: "yesterday".into(),
            },
            RequestRule::Cursor { value: "x".into() },
            RequestRule::EntryCursor { value: "x".into() },
            RequestRule::NoFilter,
            RequestRule::Nul {
                field: "message".into(),
            },
            RequestRule::Csv { detail: detail() },
            RequestRule::NotExternal {
                kind: "scrape".into(),
            },
            RequestRule::TotalTooLarge {
                got: 20_000_000,
                max: 10_000_000,
            },
            RequestRule::TooManyStages { got: 21, max: 20 },
            RequestRule::StageTwice {
                stage: "fetch".into(),
            },
            RequestRule::UnknownStage {
                stage: "x".into(),
                stages: vec!["fetch".into(), "load".into()],
            },
            RequestRule::MessageTooLong { max: 1_000 },
            RequestRule::ProcessedOverTotal {
                processed: 11,
                total: 10,
            },
            RequestRule::NoItems,
            RequestRule::TooManyItems {
                got: 1_001,
                max: 1_000,
            },
            RequestRule::ItemKey { index: 3 },
            RequestRule::ItemStatus {
                index: 3,
                got: "done".into(),
            },
            RequestRule::ItemData { index: 3 },
            RequestRule::OptOutPhone {
                phone: "abc".into(),
                issue: crate::protocol::problem::PhoneIssue::NotANumber,
            },
            RequestRule::Phone {
                phone: "abc".into(),
                issue: crate::protocol::problem::PhoneIssue::NotANumber,
            },
        ];
        for rule in rules {
            let (en, es) = (super::en(&rule), super::es(&rule));
            assert!(!en.is_empty() && !es.is_empty());
            assert_ne!(en, es, "{rule:?} is not translated");
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(serde_json::from_str::<RequestRule>(&json).unwrap(), rule);
        }
        assert_eq!(
            super::en(&RequestRule::TotalTooLarge {
                got: 20_000_000,
                max: 10_000_000
            }),
            "total must be at most 10,000,000 (got 20000000)."
        );
        for status in [
            JobStatus::Completed,
            JobStatus::Cancelled,
            JobStatus::Failed,
        ] {
            assert_ne!(en_ended(status), es_ended(status));
        }
        assert_eq!(
            en_ended(JobStatus::Cancelled),
            "The job has been cancelled already: its worker should stop."
        );
    }
}
