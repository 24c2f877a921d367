//! How each language words a `Problem` and a lifecycle `Refusal`: the server's error answers
//! and the pages' error boxes read from here.

use crate::i18n::group_thousands;
use crate::protocol::JobStatus;
use crate::protocol::lifecycle::Refusal;
use crate::protocol::problem::{
    AccountRule, AddressKind, BulkRule, CampaignField, CampaignRule, Denial, PhoneIssue, Problem,
    SelectorIssue, SourceRule, TagRule, Thing,
};

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
            Thing::Sender => "Sender not found.",
            Thing::Device => "This send has no device with that number.",
            Thing::OptOut => "That number is not on the opt-out list.",
            Thing::Hook => "Webhook not found.",
            Thing::Endpoint => "There is no such API endpoint; see CONTRACT.md for the routes.",
        }
        .into(),
        Problem::Forbidden { denial } => match denial {
            Denial::WatchOnly => "Your role can watch jobs but not start or change them.",
            Denial::AdminsOnly => "Only admins can manage users, API tokens and senders.",
            Denial::CrossSite => {
                "Cross-site requests are refused: use jobpulse's own pages, or an API token."
            }
            Denial::NoCsrfToken => {
                "This request lacks the page's CSRF token: reload the page and try again."
            }
        }
        .into(),
        Problem::Refused { refusal } => en_refusal(*refusal),
        Problem::InvalidBulkSend { rule } => en_bulk(rule),
        Problem::InvalidAccount { rule } => en_account(rule),
        Problem::InvalidCampaign { rule } => en_campaign(rule),
        Problem::InvalidSender { rule } => super::senders::en(rule),
        Problem::InvalidHook { rule } => super::hooks::en_rule(rule),
        Problem::NulCharacter { field } => format!(
            "{field} contains a NUL character (\\u0000), which cannot be stored: remove it and \
             send again."
        ),
        Problem::BodyUnreadable => "The request body could not be read; send it again.".into(),
        Problem::Conflict { detail } => detail.clone(),
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
        Refusal::LastDevice => "Every other device of this send is paused: pause the job instead, or resume another device first.".into(),
        Refusal::NotCancelled { status } => format!(
            "Only a cancelled send's rest goes out as a new send; this one has {}: resume it or retry its failed items.",
            en_done(status)
        ),
        Refusal::NothingLeftToSend => "Every recipient of this send was tried: there is no rest to send.".into(),
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
            Thing::Sender => "No se encontró el emisor.",
            Thing::Device => "Este envío no tiene un dispositivo con ese número.",
            Thing::OptOut => "Ese número no está en la lista de bajas.",
            Thing::Hook => "No se encontró el webhook.",
            Thing::Endpoint => "Esa ruta de la API no existe; consulta CONTRACT.md.",
        }
        .into(),
        Problem::Forbidden { denial } => match denial {
            Denial::WatchOnly => "Tu rol puede ver los trabajos pero no iniciarlos ni cambiarlos.",
            Denial::AdminsOnly => {
                "Solo los administradores gestionan usuarios, tokens de API y emisores."
            }
            Denial::CrossSite => {
                "Se rechazan las peticiones desde otros sitios: usa las páginas de jobpulse o un token de API."
            }
            Denial::NoCsrfToken => {
                "A esta petición le falta el token CSRF de la página: recárgala y vuelve a intentarlo."
            }
        }
        .into(),
        Problem::Refused { refusal } => es_refusal(*refusal),
        Problem::InvalidBulkSend { rule } => es_bulk(rule),
        Problem::InvalidAccount { rule } => es_account(rule),
        Problem::InvalidCampaign { rule } => es_campaign(rule),
        Problem::InvalidSender { rule } => super::senders::es(rule),
        Problem::InvalidHook { rule } => super::hooks::es_rule(rule),
        Problem::NulCharacter { field } => format!(
            "{field} contiene un carácter NUL (\\u0000), que no se puede guardar: quítalo y envía \
             de nuevo."
        ),
        Problem::BodyUnreadable => {
            "No se pudo leer el cuerpo de la petición; envíala de nuevo.".into()
        }
        Problem::Conflict { detail } => detail.clone(),
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
        Refusal::LastDevice => "Los demás dispositivos de este envío están en pausa: pausa el trabajo, o reanuda antes otro dispositivo.".into(),
        Refusal::NotCancelled { status } => format!(
            "Solo el resto de un envío cancelado sale como envío nuevo; este {}: reanúdalo o reintenta sus fallidos.",
            es_done(status)
        ),
        Refusal::NothingLeftToSend => "Se intentó con todos los destinatarios de este envío: no queda resto que enviar.".into(),
    }
}

pub(super) fn en_n(n: u64) -> String {
    group_thousands(n, ',')
}

pub(super) fn es_n(n: u64) -> String {
    group_thousands(n, '.')
}

fn en_bulk(rule: &BulkRule) -> String {
    match rule {
        BulkRule::MessageEmpty => "The message is empty: write the text to send.".into(),
        BulkRule::MessageTooLong { chars, max } => format!(
            "The message is {} characters long; the limit is {}.",
            en_n(*chars),
            en_n(*max)
        ),
        BulkRule::DevicesOutOfRange { got, max } => format!(
            "Sender devices (devices_limit) must be a whole number between 1 and {max} (got {got})."
        ),
        BulkRule::NoPhones => "The list of phones is empty: give at least one number.".into(),
        BulkRule::TooManyPhones { count, max } => format!(
            "The list has {} phones; the limit is {} per job: split it into several sends.",
            en_n(*count),
            en_n(*max)
        ),
        BulkRule::IdempotencyKeyLength { max } => {
            format!("idempotency_key must be 1 to {max} characters long.")
        }
        BulkRule::SomePhonesInvalid { invalid, total } => format!(
            "{} of {} phone entries are not valid: fix them, or send again with \"skip_invalid\": true to leave them out.",
            en_n(*invalid),
            en_n(*total)
        ),
        BulkRule::NoValidPhones { total } => format!(
            "None of the {} phone entries is a valid number, so there is nothing to send.",
            en_n(*total)
        ),
        BulkRule::UnknownSender { id } => {
            format!("There is no sender {id}: pick one of your senders (GET /api/senders).")
        }
        BulkRule::SenderOff { name } => {
            format!("The sender \"{name}\" is turned off: turn it on, or leave it out.")
        }
        BulkRule::NameTooLong { chars, max } => {
            format!("The name is {chars} characters long; the limit is {max}.")
        }
        BulkRule::Tags { problem } => en_tags(problem),
    }
}

pub(super) fn en_tags(rule: &TagRule) -> String {
    match rule {
        TagRule::TooMany { count, max } => {
            format!("There are {count} tags; the limit is {max}: keep the ones you search by.")
        }
        TagRule::TooLong { index, max } => {
            format!(
                "Tag {} is longer than {max} characters: shorten it.",
                index + 1
            )
        }
    }
}

pub(super) fn es_tags(rule: &TagRule) -> String {
    match rule {
        TagRule::TooMany { count, max } => {
            format!("Hay {count} etiquetas; el límite es {max}: deja las que usas para buscar.")
        }
        TagRule::TooLong { index, max } => format!(
            "La etiqueta {} tiene más de {max} caracteres: acórtala.",
            index + 1
        ),
    }
}

fn es_bulk(rule: &BulkRule) -> String {
    match rule {
        BulkRule::MessageEmpty => {
            "El mensaje está vacío: escribe el texto que quieres enviar.".into()
        }
        BulkRule::MessageTooLong { chars, max } => format!(
            "El mensaje tiene {} caracteres; el límite es {}.",
            es_n(*chars),
            es_n(*max)
        ),
        BulkRule::DevicesOutOfRange { got, max } => format!(
            "Los dispositivos emisores (devices_limit) deben ser un número entero entre 1 y {max} (se recibió {got})."
        ),
        BulkRule::NoPhones => "La lista de teléfonos está vacía: indica al menos un número.".into(),
        BulkRule::TooManyPhones { count, max } => format!(
            "La lista tiene {} teléfonos; el límite es {} por trabajo: divídela en varios envíos.",
            es_n(*count),
            es_n(*max)
        ),
        BulkRule::IdempotencyKeyLength { max } => {
            format!("idempotency_key debe tener entre 1 y {max} caracteres.")
        }
        BulkRule::SomePhonesInvalid { invalid, total } => format!(
            "{} de {} entradas no son teléfonos válidos: corrígelas, o vuelve a enviar con \"skip_invalid\": true para omitirlas.",
            es_n(*invalid),
            es_n(*total)
        ),
        BulkRule::NoValidPhones { total } => format!(
            "Ninguna de las {} entradas es un número válido, así que no hay nada que enviar.",
            es_n(*total)
        ),
        BulkRule::UnknownSender { id } => {
            format!("No existe el emisor {id}: elige uno de tus emisores (GET /api/senders).")
        }
        BulkRule::SenderOff { name } => {
            format!("El emisor «{name}» está desactivado: actívalo o déjalo fuera.")
        }
        BulkRule::NameTooLong { chars, max } => {
            format!("El nombre tiene {chars} caracteres; el límite es {max}.")
        }
        BulkRule::Tags { problem } => es_tags(problem),
    }
}

fn en_account(rule: &AccountRule) -> String {
    match rule {
        AccountRule::TokenName { max } => {
            format!("Give the token a name of 1 to {max} characters, e.g. \"billing script\".")
        }
        AccountRule::Username { max } => {
            format!("A username is 1 to {max} characters, without spaces.")
        }
        AccountRule::PasswordTooShort { min } => {
            format!("The password needs at least {min} characters.")
        }
        AccountRule::UnknownRole => "Pick a role: admin, operator or viewer.".into(),
        AccountRule::UsernameTaken { username } => {
            format!("This workspace already has a user called \"{username}\".")
        }
        AccountRule::OwnAdminRole => "You cannot take away your own admin role.".into(),
        AccountRule::RemoveYourself => "You cannot remove yourself.".into(),
    }
}

fn es_account(rule: &AccountRule) -> String {
    match rule {
        AccountRule::TokenName { max } => format!(
            "Dale al token un nombre de 1 a {max} caracteres, p. ej. «script de facturación»."
        ),
        AccountRule::Username { max } => {
            format!("Un nombre de usuario tiene de 1 a {max} caracteres, sin espacios.")
        }
        AccountRule::PasswordTooShort { min } => {
            format!("La contraseña necesita al menos {min} caracteres.")
        }
        AccountRule::UnknownRole => "Elige un rol: administrador, operador u observador.".into(),
        AccountRule::UsernameTaken { username } => {
            format!("Este espacio de trabajo ya tiene un usuario llamado «{username}».")
        }
        AccountRule::OwnAdminRole => "No puedes quitarte tu propio rol de administrador.".into(),
        AccountRule::RemoveYourself => "No puedes eliminarte a ti mismo.".into(),
    }
}

/// The field as the API names it (people see it beside the form's own label).
fn en_field(field: &CampaignField) -> String {
    match field {
        CampaignField::Name => "name".into(),
        CampaignField::Platform => "platform".into(),
        CampaignField::Stage { index } => format!("stages[{index}]"),
        CampaignField::DelayMs => "The pause between pages".into(),
        CampaignField::MaxPages => "Pages per keyword".into(),
        CampaignField::Error => "error".into(),
    }
}

fn es_field(field: &CampaignField) -> String {
    match field {
        CampaignField::Name => "El nombre".into(),
        CampaignField::Platform => "La plataforma".into(),
        CampaignField::Stage { index } => format!("La etapa stages[{index}]"),
        CampaignField::DelayMs => "La pausa entre páginas".into(),
        CampaignField::MaxPages => "Las páginas por palabra clave".into(),
        CampaignField::Error => "El error".into(),
    }
}

fn en_campaign(rule: &CampaignRule) -> String {
    match rule {
        CampaignRule::Tags { problem } => en_tags(problem),
        CampaignRule::Empty { field } => format!("{} is empty: give one.", en_field(field)),
        CampaignRule::TooLong { field, chars, max } => format!(
            "{} is {chars} characters long; the limit is {max}.",
            en_field(field)
        ),
        CampaignRule::KeywordEmpty { index } => {
            format!("keywords[{index}] is empty: remove it or write a keyword.")
        }
        CampaignRule::KeywordTooLong { index, max } => {
            format!("keywords[{index}] is longer than {max} characters: shorten it.")
        }
        CampaignRule::NoKeywords => {
            "keywords is empty: give at least one keyword to search for.".into()
        }
        CampaignRule::TooManyKeywords { count, max } => format!(
            "There are {count} keywords; the limit is {max}: split them into several campaigns."
        ),
        CampaignRule::TargetOutOfRange { got, max } => {
            format!("target_results (results wanted) must be between 1 and {max} (got {got}).")
        }
        CampaignRule::NotANumber { field, got } => {
            format!("{} must be a whole number (got “{got}”).", en_field(field))
        }
        CampaignRule::UnknownSource { got } => format!("Choose a source (got “{got}”)."),
        CampaignRule::StillSearching { paused: true } => {
            "A search of this campaign is paused: resume or cancel it before searching again."
                .into()
        }
        CampaignRule::StillSearching { paused: false } => {
            "A search of this campaign is still running: wait for it to end, or cancel it.".into()
        }
        CampaignRule::Source { source } => source.english(),
    }
}

fn es_campaign(rule: &CampaignRule) -> String {
    match rule {
        CampaignRule::Tags { problem } => es_tags(problem),
        CampaignRule::Empty { field } => format!("{} está vacío: escribe uno.", es_field(field)),
        CampaignRule::TooLong { field, chars, max } => format!(
            "{} tiene {chars} caracteres; el límite es {max}.",
            es_field(field)
        ),
        CampaignRule::KeywordEmpty { index } => format!(
            "La palabra clave {} está vacía: quítala o escribe una.",
            index + 1
        ),
        CampaignRule::KeywordTooLong { index, max } => format!(
            "La palabra clave {} tiene más de {max} caracteres: acórtala.",
            index + 1
        ),
        CampaignRule::NoKeywords => "No hay palabras clave: indica al menos una que buscar.".into(),
        CampaignRule::TooManyKeywords { count, max } => format!(
            "Hay {count} palabras clave; el límite es {max}: repártelas en varias campañas."
        ),
        CampaignRule::TargetOutOfRange { got, max } => format!(
            "Los resultados buscados (target_results) deben estar entre 1 y {max} (se recibió {got})."
        ),
        CampaignRule::NotANumber { field, got } => {
            format!(
                "{} debe ser un número entero (se recibió «{got}»).",
                es_field(field)
            )
        }
        CampaignRule::UnknownSource { got } => format!("Elige una fuente (se recibió «{got}»)."),
        CampaignRule::StillSearching { paused: true } => {
            "Una búsqueda de esta campaña está en pausa: reanúdala o cancélala antes de buscar \
             de nuevo."
                .into()
        }
        CampaignRule::StillSearching { paused: false } => {
            "Una búsqueda de esta campaña sigue en marcha: espera a que termine o cancélala.".into()
        }
        CampaignRule::Source { source } => es_source_rule(source),
    }
}

pub(super) fn es_address(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::Loopback => "una dirección de bucle local (loopback)",
        AddressKind::Private => "una dirección privada",
        AddressKind::LinkLocal => "una dirección de enlace local",
        AddressKind::Unspecified => "una dirección no especificada",
        AddressKind::Broadcast => "una dirección de difusión (broadcast)",
        AddressKind::CarrierGradeNat => "una dirección de NAT de operador (CGNAT)",
    }
}

/// What is wrong with a selector, as "termina antes de tiempo…".
pub(super) fn es_selector_issue(issue: &SelectorIssue) -> &str {
    match issue {
        SelectorIssue::EndsEarly => {
            "termina antes de tiempo (¿queda abierto un corchete o un paréntesis?)"
        }
        SelectorIssue::UnexpectedToken => "tiene un carácter donde no encaja ninguno",
        SelectorIssue::Empty => "está vacío",
        SelectorIssue::DanglingCombinator => "termina con un combinador (>, + o ~)",
        SelectorIssue::UnsupportedPseudo => {
            "usa una pseudoclase o un pseudoelemento desconocido o que no puede coincidir en \
             una página descargada (como :hover)"
        }
        SelectorIssue::Other { text } => text,
    }
}

pub(super) fn es_source_rule(rule: &SourceRule) -> String {
    match rule {
        SourceRule::NoPlaceholder { value } => format!(
            "search_url «{value}» no tiene {{keyword}}: ponlo donde va el término de búsqueda, \
             como en https://example.com/search?q={{keyword}}"
        ),
        SourceRule::NotAUrl {
            field,
            value,
            error,
        } => format!("{field} «{value}» no es una URL válida: {error}"),
        SourceRule::NotHttp { field, value } => {
            format!("{field} «{value}» debe empezar por http:// o https://")
        }
        SourceRule::NoHost { field, value } => format!("{field} «{value}» no tiene servidor"),
        SourceRule::BadSelector { field, css, issue } => format!(
            "{field} «{css}» no es un selector CSS válido: {}",
            es_selector_issue(issue)
        ),
        SourceRule::DelayTooLong { got, max } => {
            format!("delay_ms es {got}, pero se permite como mucho {max} (un minuto)")
        }
        SourceRule::MaxPagesOutOfRange { got, max } => {
            format!("max_pages es {got}, pero debe estar entre 1 y {max}")
        }
        SourceRule::BadActor { actor } => format!(
            "el actor «{actor}» debe ser un id de actor o usuario~nombre-del-actor (como \
             apify~web-scraper)"
        ),
        SourceRule::UrlFieldEmpty => {
            "url_field está vacío: indica el campo del dataset que tiene la URL de cada resultado"
                .into()
        }
        SourceRule::FieldEmpty { field } => {
            format!("{field} está vacío: quítalo o indica un campo del dataset")
        }
        SourceRule::InputNotObject => {
            "input debe ser un objeto JSON: la entrada del actor, como {\"keywords\": [\"rust\"]}"
                .into()
        }
        SourceRule::PrivateAddress {
            field,
            value,
            kind,
            ip,
        } => format!(
            "{field} «{value}» apunta a {} ({ip}), que las búsquedas no pueden leer; un \
             administrador puede permitirlo con scrape.allow_private_addresses",
            es_address(*kind)
        ),
    }
}

/// English words for a phone entry's issue (also the `reason` of REST's 422 answer).
pub fn en_phone(issue: &PhoneIssue) -> String {
    match issue {
        PhoneIssue::Empty => "empty entry".into(),
        PhoneIssue::NotANumber => "not a phone number".into(),
        PhoneIssue::NeedsCountryCode => "add the country code, e.g. +34 600 000 001".into(),
        PhoneIssue::NotValidForCountry => "not a valid number for its country".into(),
        PhoneIssue::Duplicate { entry, e164 } => format!("duplicate of entry {entry} ({e164})"),
        // The contract's reason, word for word.
        PhoneIssue::OptedOut { .. } => "opted out".into(),
    }
}

/// Spanish words for a phone entry's issue.
pub fn es_phone(issue: &PhoneIssue) -> String {
    match issue {
        PhoneIssue::Empty => "entrada vacía".into(),
        PhoneIssue::NotANumber => "no es un número de teléfono".into(),
        PhoneIssue::NeedsCountryCode => "añade el prefijo del país, p. ej. +34 600 000 001".into(),
        PhoneIssue::NotValidForCountry => "no es un número válido para su país".into(),
        PhoneIssue::Duplicate { entry, e164 } => format!("repite la entrada {entry} ({e164})"),
        PhoneIssue::OptedOut { e164 } => {
            format!("{e164} pidió no recibir mensajes (está en la lista de bajas)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::lifecycle::Command;

    /// One of every problem (and every refusal and rule) that carries its own words.
    fn samples() -> Vec<Problem> {
        use crate::protocol::problem::SenderRule;
        let senders = [
            SenderRule::NameEmpty,
            SenderRule::NameTooLong { max: 100 },
            SenderRule::NameTaken {
                name: "Ventas".into(),
            },
            SenderRule::UnknownProvider {
                got: "telegram".into(),
            },
            SenderRule::RateOutOfRange {
                got: 0,
                max: 60_000,
            },
            SenderRule::RateNotANumber { got: "fast".into() },
            SenderRule::ConfigNotObject,
            SenderRule::UnknownField { field: "x".into() },
            SenderRule::MissingField {
                field: "token".into(),
            },
            SenderRule::NotText {
                field: "token".into(),
            },
            SenderRule::NotUrl {
                field: "url".into(),
                value: "ftp://x".into(),
            },
            SenderRule::PrivateAddress {
                field: "url".into(),
                value: "http://10.0.0.1".into(),
            },
            SenderRule::TwilioFrom,
        ];
        let mut all = vec![
            Problem::InvalidBulkSend {
                rule: BulkRule::UnknownSender { id: "x".into() },
            },
            Problem::InvalidBulkSend {
                rule: BulkRule::SenderOff {
                    name: "Ventas".into(),
                },
            },
            Problem::NotFound {
                thing: Thing::Sender,
            },
            Problem::NotFound {
                thing: Thing::OptOut,
            },
            Problem::SessionEnded,
            Problem::Unauthorized,
            Problem::WrongPassword,
            Problem::WrongWorker,
            Problem::TooManyRequests { seconds: 3 },
            Problem::TooManyLogins { seconds: 1 },
            Problem::Busy,
            Problem::TooLarge { kib: 64 },
            Problem::SlowBody,
            Problem::Unavailable,
            Problem::Network,
            Problem::NulCharacter {
                field: "message".into(),
            },
            Problem::BodyUnreadable,
        ];
        for thing in [
            Thing::Job,
            Thing::Campaign,
            Thing::User,
            Thing::Token,
            Thing::Endpoint,
            Thing::Device,
        ] {
            all.push(Problem::NotFound { thing });
        }
        for denial in [
            Denial::WatchOnly,
            Denial::AdminsOnly,
            Denial::CrossSite,
            Denial::NoCsrfToken,
        ] {
            all.push(Problem::Forbidden { denial });
        }
        for refusal in [
            Refusal::Ended {
                status: JobStatus::Failed,
                command: Command::Pause,
            },
            Refusal::AlreadyPaused,
            Refusal::WorkerMovesIt,
            Refusal::BeingCancelled,
            Refusal::ChangedMeanwhile,
            Refusal::NothingLeftToResume,
            Refusal::AlreadyRunning,
            Refusal::NotResumable {
                status: JobStatus::Completed,
            },
            Refusal::SearchHasNoItems,
            Refusal::CancelledIsNotRetried,
            Refusal::NotFinished,
            Refusal::NothingToRetry {
                include_unknown: false,
            },
            Refusal::LastDevice,
            Refusal::NotCancelled {
                status: JobStatus::Completed,
            },
            Refusal::NothingLeftToSend,
        ] {
            all.push(Problem::Refused { refusal });
        }
        for rule in [
            BulkRule::MessageEmpty,
            BulkRule::MessageTooLong {
                chars: 5000,
                max: 4096,
            },
            BulkRule::DevicesOutOfRange {
                got: "x".into(),
                max: 50,
            },
            BulkRule::NoPhones,
            BulkRule::TooManyPhones {
                count: 100_001,
                max: 100_000,
            },
            BulkRule::IdempotencyKeyLength { max: 255 },
            BulkRule::SomePhonesInvalid {
                invalid: 2,
                total: 10,
            },
            BulkRule::NoValidPhones { total: 3 },
            BulkRule::NameTooLong {
                chars: 201,
                max: 200,
            },
            BulkRule::Tags {
                problem: TagRule::TooMany { count: 21, max: 20 },
            },
            BulkRule::Tags {
                problem: TagRule::TooLong { index: 2, max: 50 },
            },
        ] {
            all.push(Problem::InvalidBulkSend { rule });
        }
        for rule in [
            AccountRule::TokenName { max: 100 },
            AccountRule::Username { max: 64 },
            AccountRule::PasswordTooShort { min: 10 },
            AccountRule::UnknownRole,
            AccountRule::UsernameTaken {
                username: "ana".into(),
            },
            AccountRule::OwnAdminRole,
            AccountRule::RemoveYourself,
        ] {
            all.push(Problem::InvalidAccount { rule });
        }
        for rule in [
            CampaignRule::Empty {
                field: CampaignField::Name,
            },
            CampaignRule::TooLong {
                field: CampaignField::Platform,
                chars: 60,
                max: 50,
            },
            CampaignRule::KeywordEmpty { index: 1 },
            CampaignRule::KeywordTooLong { index: 0, max: 100 },
            CampaignRule::NoKeywords,
            CampaignRule::Tags {
                problem: TagRule::TooLong { index: 0, max: 50 },
            },
            CampaignRule::TooManyKeywords { count: 60, max: 50 },
            CampaignRule::TargetOutOfRange {
                got: "0".into(),
                max: 100_000,
            },
            CampaignRule::NotANumber {
                field: CampaignField::DelayMs,
                got: "x".into(),
            },
            CampaignRule::UnknownSource { got: "ftp".into() },
            CampaignRule::StillSearching { paused: true },
            CampaignRule::StillSearching { paused: false },
            CampaignRule::Source {
                source: SourceRule::PrivateAddress {
                    field: "search_url".into(),
                    value: "http://10.0.0.5/{keyword}".into(),
                    kind: AddressKind::Private,
                    ip: "10.0.0.5".into(),
                },
            },
            CampaignRule::Source {
                source: SourceRule::BadSelector {
                    field: "item_selector".into(),
                    css: "div[".into(),
                    issue: SelectorIssue::EndsEarly,
                },
            },
            CampaignRule::Source {
                source: SourceRule::UrlFieldEmpty,
            },
        ] {
            all.push(Problem::InvalidCampaign { rule });
        }
        all.extend(
            senders
                .into_iter()
                .map(|rule| Problem::InvalidSender { rule }),
        );
        use crate::protocol::problem::HookRule;
        all.extend(
            [
                HookRule::UrlEmpty,
                HookRule::UrlTooLong { max: 2_048 },
                HookRule::NotUrl {
                    value: "ftp://x".into(),
                },
                HookRule::PrivateAddress {
                    value: "http://10.0.0.1".into(),
                },
                HookRule::NoEvents,
                HookRule::UnknownEvent {
                    got: "job.exploded".into(),
                },
                HookRule::TooMany { max: 20 },
            ]
            .into_iter()
            .map(|rule| Problem::InvalidHook { rule }),
        );
        all.push(Problem::NotFound { thing: Thing::Hook });
        all
    }

    #[test]
    fn every_problem_is_worded_in_both_languages() {
        for problem in samples() {
            let (english, spanish) = (en(&problem), es(&problem));
            assert!(!english.is_empty() && !spanish.is_empty(), "{problem:?}");
            assert_ne!(english, spanish, "{problem:?} is not translated");
            // A code survives the trip through the page's JSON.
            let json = serde_json::to_string(&problem).unwrap();
            assert_eq!(serde_json::from_str::<Problem>(&json).unwrap(), problem);
        }
    }

    #[test]
    fn numbers_are_grouped_the_reader_s_way() {
        let problem = Problem::InvalidBulkSend {
            rule: BulkRule::TooManyPhones {
                count: 100_001,
                max: 100_000,
            },
        };
        assert!(en(&problem).contains("100,001"));
        assert!(es(&problem).contains("100.001"));
    }

    #[test]
    fn phone_issues_are_worded_in_both_languages() {
        for issue in [
            PhoneIssue::Empty,
            PhoneIssue::NotANumber,
            PhoneIssue::NeedsCountryCode,
            PhoneIssue::NotValidForCountry,
            PhoneIssue::Duplicate {
                entry: 1,
                e164: "+34600000001".into(),
            },
            PhoneIssue::OptedOut {
                e164: "+34600000001".into(),
            },
        ] {
            assert_ne!(en_phone(&issue), es_phone(&issue));
        }
    }
}
