//! The start forms' refusals, worded to sit under the field they are about (so they never name
//! the field the way the API spells it), and what a pasted list of recipients holds.

use crate::protocol::problem::{BulkRule, CampaignField, CampaignRule, SourceRule};

use super::problems::{en_n, en_tags, es_n, es_selector_issue, es_tags};

/// One language's strings of the start forms.
pub struct FormsText {
    /// Beside the button after a refused submit.
    pub fix_fields: fn(usize) -> String,
    /// A bulk send's rule, under its field.
    pub bulk: fn(&BulkRule) -> String,
    /// A campaign's rule, under its field.
    pub campaign: fn(&CampaignRule) -> String,
    pub checking: &'static str,
    pub valid: fn(u64) -> String,
    pub invalid: fn(u64) -> String,
    pub duplicates: fn(u64) -> String,
    pub opted_out: fn(u64) -> String,
    pub remove_duplicates: &'static str,
    /// The button that keeps the valid numbers only and sends to them.
    pub send_valid_only: fn(u64) -> String,
}

fn en_whole(max: u64, got: &str) -> String {
    match got.trim() {
        "" => format!("Type a whole number from 1 to {}.", en_n(max)),
        got => format!(
            "Type a whole number from 1 to {} (you typed “{got}”).",
            en_n(max)
        ),
    }
}

fn es_whole(max: u64, got: &str) -> String {
    match got.trim() {
        "" => format!("Escribe un número entero del 1 al {}.", es_n(max)),
        got => format!(
            "Escribe un número entero del 1 al {} (has escrito «{got}»).",
            es_n(max)
        ),
    }
}

fn en_bulk(rule: &BulkRule) -> String {
    match rule {
        BulkRule::MessageEmpty => "Write the message to send.".into(),
        BulkRule::MessageTooLong { chars, max } => format!(
            "{} characters: the limit is {}. Shorten it.",
            en_n(*chars),
            en_n(*max)
        ),
        BulkRule::DevicesOutOfRange { got, max } => en_whole(u64::from(*max), got),
        BulkRule::NoPhones => "Paste at least one phone number.".into(),
        BulkRule::TooManyPhones { count, max } => format!(
            "{} numbers: one send takes at most {}. Split the list into several sends.",
            en_n(*count),
            en_n(*max)
        ),
        BulkRule::SomePhonesInvalid { invalid, total } => format!(
            "{} of {} entries cannot be sent to (listed below): fix or remove them.",
            en_n(*invalid),
            en_n(*total)
        ),
        BulkRule::NoValidPhones { total } => format!(
            "None of the {} entries is a valid phone number.",
            en_n(*total)
        ),
        BulkRule::NameTooLong { chars, max } => {
            format!("{chars} characters: the limit is {max}. Shorten it.")
        }
        BulkRule::Tags { problem } => en_tags(problem),
        // Not about a field the form shows: worded as the API words them.
        other => super::problems::en(&crate::protocol::Problem::InvalidBulkSend {
            rule: other.clone(),
        }),
    }
}

fn es_bulk(rule: &BulkRule) -> String {
    match rule {
        BulkRule::MessageEmpty => "Escribe el mensaje que quieres enviar.".into(),
        BulkRule::MessageTooLong { chars, max } => format!(
            "{} caracteres: el límite es {}. Acórtalo.",
            es_n(*chars),
            es_n(*max)
        ),
        BulkRule::DevicesOutOfRange { got, max } => es_whole(u64::from(*max), got),
        BulkRule::NoPhones => "Pega al menos un número de teléfono.".into(),
        BulkRule::TooManyPhones { count, max } => format!(
            "{} números: un envío admite como mucho {}. Divide la lista en varios envíos.",
            es_n(*count),
            es_n(*max)
        ),
        BulkRule::SomePhonesInvalid { invalid, total } => format!(
            "A {} de {} entradas no se puede enviar (abajo la lista): corrígelas o quítalas.",
            es_n(*invalid),
            es_n(*total)
        ),
        BulkRule::NoValidPhones { total } => format!(
            "Ninguna de las {} entradas es un número de teléfono válido.",
            es_n(*total)
        ),
        BulkRule::NameTooLong { chars, max } => {
            format!("{chars} caracteres: el límite es {max}. Acórtalo.")
        }
        BulkRule::Tags { problem } => es_tags(problem),
        other => super::problems::es(&crate::protocol::Problem::InvalidBulkSend {
            rule: other.clone(),
        }),
    }
}

fn en_source(rule: &SourceRule) -> String {
    match rule {
        SourceRule::NoPlaceholder { .. } => "Put {keyword} where the search term goes, as in \
             https://example.com/search?q={keyword}."
            .into(),
        SourceRule::NotAUrl { value, .. } => {
            format!("“{value}” is not a web address: write it as https://example.com/…")
        }
        SourceRule::NotHttp { .. } => "Start it with http:// or https://.".into(),
        SourceRule::NoHost { value, .. } => format!("“{value}” names no site."),
        SourceRule::BadSelector { css, .. } if css.trim().is_empty() => "Fill this in.".into(),
        SourceRule::BadSelector { css, issue, .. } => {
            format!("“{css}” is not a CSS selector: {}.", issue.english())
        }
        SourceRule::DelayTooLong { got, max } => {
            format!("{got} ms is too long: at most {max} (a minute).")
        }
        SourceRule::MaxPagesOutOfRange { max, .. } => en_whole(u64::from(*max), ""),
        SourceRule::BadActor { .. } => {
            "Give the actor's id, or username~actor-name (like apify~web-scraper).".into()
        }
        other => other.english(),
    }
}

fn es_source(rule: &SourceRule) -> String {
    match rule {
        SourceRule::NoPlaceholder { .. } => "Pon {keyword} donde va el término de búsqueda, como \
             en https://example.com/search?q={keyword}."
            .into(),
        SourceRule::NotAUrl { value, .. } => {
            format!("«{value}» no es una dirección web: escríbela como https://example.com/…")
        }
        SourceRule::NotHttp { .. } => "Empieza por http:// o https://.".into(),
        SourceRule::NoHost { value, .. } => format!("«{value}» no nombra ningún sitio."),
        SourceRule::BadSelector { css, .. } if css.trim().is_empty() => {
            "Rellena este campo.".into()
        }
        SourceRule::BadSelector { css, issue, .. } => {
            format!(
                "«{css}» no es un selector CSS: {}.",
                es_selector_issue(issue)
            )
        }
        SourceRule::DelayTooLong { got, max } => {
            format!("{got} ms es demasiado: como mucho {max} (un minuto).")
        }
        SourceRule::MaxPagesOutOfRange { max, .. } => es_whole(u64::from(*max), ""),
        SourceRule::BadActor { .. } => {
            "Indica el id del actor, o usuario~nombre-del-actor (como apify~web-scraper).".into()
        }
        other => super::problems::es_source_rule(other),
    }
}

fn en_campaign(rule: &CampaignRule) -> String {
    match rule {
        CampaignRule::Empty {
            field: CampaignField::Name,
        } => "Give the campaign a name.".into(),
        CampaignRule::Empty {
            field: CampaignField::Platform,
        } => "Say where the results come from, such as Reddit or Web.".into(),
        CampaignRule::Empty { .. } => "Fill this in.".into(),
        CampaignRule::TooLong { chars, max, .. } => {
            format!("{chars} characters: the limit is {max}. Shorten it.")
        }
        CampaignRule::KeywordEmpty { index } => {
            format!("Keyword {} is empty: remove it or write one.", index + 1)
        }
        CampaignRule::KeywordTooLong { index, max } => format!(
            "Keyword {} is longer than {max} characters: shorten it.",
            index + 1
        ),
        CampaignRule::NoKeywords => "Give at least one keyword to search for.".into(),
        CampaignRule::TooManyKeywords { count, max } => {
            format!("{count} keywords: the limit is {max}. Split them into several campaigns.")
        }
        CampaignRule::TargetOutOfRange { got, max } => en_whole(*max, got),
        CampaignRule::NotANumber { got, .. } => {
            format!("Type a whole number (you typed “{got}”).")
        }
        CampaignRule::Tags { problem } => en_tags(problem),
        CampaignRule::Source { source } => en_source(source),
        other => super::problems::en(&crate::protocol::Problem::InvalidCampaign {
            rule: other.clone(),
        }),
    }
}

fn es_campaign(rule: &CampaignRule) -> String {
    match rule {
        CampaignRule::Empty {
            field: CampaignField::Name,
        } => "Ponle un nombre a la campaña.".into(),
        CampaignRule::Empty {
            field: CampaignField::Platform,
        } => "Indica de dónde salen los resultados, como Reddit o Web.".into(),
        CampaignRule::Empty { .. } => "Rellena este campo.".into(),
        CampaignRule::TooLong { chars, max, .. } => {
            format!("{chars} caracteres: el límite es {max}. Acórtalo.")
        }
        CampaignRule::KeywordEmpty { index } => format!(
            "La palabra clave {} está vacía: quítala o escribe una.",
            index + 1
        ),
        CampaignRule::KeywordTooLong { index, max } => format!(
            "La palabra clave {} tiene más de {max} caracteres: acórtala.",
            index + 1
        ),
        CampaignRule::NoKeywords => "Indica al menos una palabra clave que buscar.".into(),
        CampaignRule::TooManyKeywords { count, max } => {
            format!("{count} palabras clave: el límite es {max}. Repártelas en varias campañas.")
        }
        CampaignRule::TargetOutOfRange { got, max } => es_whole(*max, got),
        CampaignRule::NotANumber { got, .. } => {
            format!("Escribe un número entero (has escrito «{got}»).")
        }
        CampaignRule::Tags { problem } => es_tags(problem),
        CampaignRule::Source { source } => es_source(source),
        other => super::problems::es(&crate::protocol::Problem::InvalidCampaign {
            rule: other.clone(),
        }),
    }
}

pub static EN_FORMS: FormsText = FormsText {
    fix_fields: |n| match n {
        1 => "Fix the field marked above; nothing was created.".into(),
        n => format!("Fix the {n} fields marked above; nothing was created."),
    },
    bulk: en_bulk,
    campaign: en_campaign,
    checking: "Checking the numbers…",
    valid: |n| format!("{} valid", en_n(n)),
    invalid: |n| format!("{} not valid", en_n(n)),
    duplicates: |n| match n {
        1 => "1 repeated".into(),
        n => format!("{} repeated", en_n(n)),
    },
    opted_out: |n| format!("{} opted out", en_n(n)),
    remove_duplicates: "Remove repeats",
    send_valid_only: |n| match n {
        1 => "Send to the valid one only".into(),
        n => format!("Send to the {} valid only", en_n(n)),
    },
};

pub static ES_FORMS: FormsText = FormsText {
    fix_fields: |n| match n {
        1 => "Corrige el campo marcado arriba; no se ha creado nada.".into(),
        n => format!("Corrige los {n} campos marcados arriba; no se ha creado nada."),
    },
    bulk: es_bulk,
    campaign: es_campaign,
    checking: "Comprobando los números…",
    valid: |n| match n {
        1 => "1 válido".into(),
        n => format!("{} válidos", es_n(n)),
    },
    invalid: |n| match n {
        1 => "1 no válido".into(),
        n => format!("{} no válidos", es_n(n)),
    },
    duplicates: |n| match n {
        1 => "1 repetido".into(),
        n => format!("{} repetidos", es_n(n)),
    },
    opted_out: |n| match n {
        1 => "1 dado de baja".into(),
        n => format!("{} dados de baja", es_n(n)),
    },
    remove_duplicates: "Quitar repetidos",
    send_valid_only: |n| match n {
        1 => "Enviar solo al válido".into(),
        n => format!("Enviar solo a los {} válidos", es_n(n)),
    },
};
