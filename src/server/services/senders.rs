//! Senders: their checks, their sealed secrets, and the provider each one sends through. REST and
//! the admin page's server functions both come here.

use crate::protocol::audit::AuditAction;
use crate::server::audit;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::protocol::problem::SenderRule;
use crate::protocol::senders::{
    CreateSenderRequest, DEFAULT_RATE_PER_MINUTE, MAX_RATE_PER_MINUTE, MAX_SENDER_NAME,
    SenderProvider, SenderView, UpdateSenderRequest,
};
use crate::server::AppState;
use crate::server::adapters::providers::{
    HttpProvider, MessagingProvider, SandboxProvider, Twilio, TwilioFrom, Wablas, WhatsappCloud,
};
use crate::server::settings::Settings;
use crate::server::store::{
    NewSender, SenderChange, SenderRecord, StoreError, StoreResult, TenantId,
};
use crate::server::vault::{Vault, VaultError};

/// Why a sender request did not go through.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("{0:?}")]
    Invalid(SenderRule),
    #[error("sender not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checked request: the settings split into what is shown and what is sealed.
#[derive(Debug)]
struct Checked {
    name: String,
    provider: SenderProvider,
    config: Map<String, Value>,
    secrets: Map<String, Value>,
    rate_per_minute: u32,
}

/// A sender's name, trimmed, or the rule it breaks.
fn checked_name(name: &str) -> Result<String, SenderRule> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SenderRule::NameEmpty);
    }
    if name.chars().count() > MAX_SENDER_NAME {
        return Err(SenderRule::NameTooLong {
            max: MAX_SENDER_NAME as u32,
        });
    }
    Ok(name.to_owned())
}

fn checked_rate(rate: u32) -> Result<u32, SenderRule> {
    if (1..=MAX_RATE_PER_MINUTE).contains(&rate) {
        Ok(rate)
    } else {
        Err(SenderRule::RateOutOfRange {
            got: rate.into(),
            max: MAX_RATE_PER_MINUTE,
        })
    }
}

/// Checks a create request against its provider's settings.
fn check(request: &CreateSenderRequest, settings: &Settings) -> Result<Checked, SenderRule> {
    let name = checked_name(&request.name)?;
    let provider = SenderProvider::parse(request.provider.trim()).ok_or_else(|| {
        SenderRule::UnknownProvider {
            got: request.provider.clone(),
        }
    })?;
    let rate_per_minute = checked_rate(request.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE))?;
    let given = match &request.config {
        Value::Object(given) => given.clone(),
        Value::Null => Map::new(),
        _ => return Err(SenderRule::ConfigNotObject),
    };
    let fields = provider.fields();
    if let Some(unknown) = given
        .keys()
        .find(|key| !fields.iter().any(|field| field.name == key.as_str()))
    {
        return Err(SenderRule::UnknownField {
            field: unknown.clone(),
        });
    }
    let mut config = Map::new();
    let mut secrets = Map::new();
    for field in fields {
        let value = match given.get(field.name) {
            None | Some(Value::Null) => "",
            Some(Value::String(text)) => text.trim(),
            Some(_) => {
                return Err(SenderRule::NotText {
                    field: field.name.into(),
                });
            }
        };
        let value = match (value, field.default) {
            ("", Some(default)) => default,
            ("", None) if field.required => {
                return Err(SenderRule::MissingField {
                    field: field.name.into(),
                });
            }
            ("", None) => continue,
            (value, _) => value,
        };
        if field.url {
            check_url(field.name, value, settings)?;
        }
        let kept = if field.secret {
            &mut secrets
        } else {
            &mut config
        };
        kept.insert(field.name.into(), Value::String(value.into()));
    }
    if provider == SenderProvider::Twilio
        && config.contains_key("from") == config.contains_key("messaging_service_sid")
    {
        return Err(SenderRule::TwilioFrom);
    }
    Ok(Checked {
        name,
        provider,
        config,
        secrets,
        rate_per_minute,
    })
}

/// An http(s) address off the server's own network (unless the settings allow it).
fn check_url(field: &str, value: &str, settings: &Settings) -> Result<(), SenderRule> {
    let not_url = || SenderRule::NotUrl {
        field: field.into(),
        value: value.into(),
    };
    let url = reqwest::Url::parse(value).map_err(|_| not_url())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(not_url());
    }
    if !settings.senders.allow_private_addresses
        && crate::server::adapters::sources::names_private_host(&url)
    {
        return Err(SenderRule::PrivateAddress {
            field: field.into(),
            value: value.into(),
        });
    }
    Ok(())
}

/// Creates a sender for `tenant`, its secrets sealed.
pub async fn create(
    state: &AppState,
    tenant: TenantId,
    request: CreateSenderRequest,
) -> Result<SenderView, SenderError> {
    let mut checked = check(&request, &state.settings).map_err(SenderError::Invalid)?;
    let id = Uuid::now_v7();
    // Wablas signs nothing: its webhook URL carries a secret of the sender's, shown once.
    let webhook_secret = (checked.provider == SenderProvider::Wablas).then(|| {
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        checked
            .secrets
            .insert(WABLAS_WEBHOOK_SECRET.into(), Value::String(secret.clone()));
        secret
    });
    let sealed_secrets = (!checked.secrets.is_empty()).then(|| {
        state.vault.seal(
            &id.to_string(),
            &Value::Object(checked.secrets.clone()).to_string(),
        )
    });
    let created = state
        .store
        .create_sender(NewSender {
            id,
            tenant_id: tenant,
            name: checked.name.clone(),
            provider: checked.provider,
            config: checked.config,
            sealed_secrets,
            secret_names: checked.secrets.keys().cloned().collect(),
            rate_per_minute: checked.rate_per_minute,
            active: true,
        })
        .await?;
    if !created {
        return Err(SenderError::Invalid(SenderRule::NameTaken {
            name: checked.name,
        }));
    }
    tracing::info!(sender = %id, provider = checked.provider.as_str(), "sender created");
    let mut view = get(state, tenant, id).await?;
    audit::note(AuditAction::SenderCreate, id, Some(view.name.clone()));
    if let Some(secret) = webhook_secret {
        view.webhook_url = format!("{}?secret={secret}", view.webhook_url);
    }
    Ok(view)
}

/// The tenant's senders, oldest first.
pub async fn list(state: &AppState, tenant: TenantId) -> StoreResult<Vec<SenderView>> {
    let records = state.store.senders(tenant).await?;
    views(state, records).await
}

/// One of the tenant's senders.
pub async fn get(state: &AppState, tenant: TenantId, id: Uuid) -> Result<SenderView, SenderError> {
    let record = state
        .store
        .sender(tenant, id)
        .await?
        .ok_or(SenderError::NotFound)?;
    Ok(views(state, vec![record]).await?.remove(0))
}

/// Renames a sender, changes its rate, or turns it on or off.
pub async fn update(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    request: UpdateSenderRequest,
) -> Result<SenderView, SenderError> {
    let invalid = SenderError::Invalid;
    let change = SenderChange {
        name: request
            .name
            .as_deref()
            .map(checked_name)
            .transpose()
            .map_err(invalid)?,
        rate_per_minute: request
            .rate_per_minute
            .map(checked_rate)
            .transpose()
            .map_err(invalid)?,
        active: request.active,
    };
    match state.store.update_sender(tenant, id, change).await {
        Ok(Some(record)) => {
            audit::note(AuditAction::SenderUpdate, id, Some(record.name.clone()));
            Ok(views(state, vec![record]).await?.remove(0))
        }
        Ok(None) => Err(SenderError::NotFound),
        Err(StoreError::Conflict(name)) => Err(invalid(SenderRule::NameTaken { name })),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a sender and its secrets; jobs that used it keep naming it.
pub async fn delete(state: &AppState, tenant: TenantId, id: Uuid) -> Result<(), SenderError> {
    if state.store.delete_sender(tenant, id).await? {
        tracing::info!(sender = %id, "sender deleted");
        audit::note(AuditAction::SenderDelete, id, None);
        Ok(())
    } else {
        Err(SenderError::NotFound)
    }
}

/// Stored senders as the wire shows them, with their counts.
async fn views(state: &AppState, records: Vec<SenderRecord>) -> StoreResult<Vec<SenderView>> {
    let ids: Vec<Uuid> = records.iter().map(|record| record.id).collect();
    let mut stats = state.store.sender_stats(&ids).await?;
    let base = state.public_url();
    Ok(records
        .into_iter()
        .map(|record| SenderView {
            webhook_url: webhook_url(&base, record.id),
            stats: stats.remove(&record.id).unwrap_or_default(),
            id: record.id,
            name: record.name,
            provider: record.provider,
            active: record.active,
            rate_per_minute: record.rate_per_minute,
            health: record.health,
            health_detail: record.health_detail,
            health_fault: record.health_fault,
            config: record.config,
            secrets_set: record.secret_names,
            created_at: record.created_at,
        })
        .collect())
}

/// The secret a Wablas sender's webhook URL carries (`?secret=`), kept sealed with its others.
pub const WABLAS_WEBHOOK_SECRET: &str = "webhook_secret";

/// Where a sender's provider sends receipts and replies.
pub fn webhook_url(public_url: &str, sender: Uuid) -> String {
    format!("{public_url}/api/webhooks/{sender}")
}

/// A stored sender's secrets, opened (none when it has none).
pub fn open_secrets(
    record: &SenderRecord,
    vault: &Vault,
) -> Result<HashMap<String, String>, VaultError> {
    match &record.sealed_secrets {
        Some(sealed) => {
            let opened = vault.open(&record.id.to_string(), sealed)?;
            serde_json::from_str(&opened).map_err(|_| VaultError::Corrupt)
        }
        None => Ok(HashMap::new()),
    }
}

/// The provider a stored sender sends through, its secrets opened.
pub fn provider_for(
    record: &SenderRecord,
    kit: &crate::server::engine::SenderKit,
) -> Result<Arc<dyn MessagingProvider>, VaultError> {
    let (settings, public_url) = (&kit.settings, kit.public_url.as_str());
    let secrets = open_secrets(record, &kit.vault)?;
    let config = |name: &str| {
        record
            .config
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let secret = |name: &str| secrets.get(name).cloned().unwrap_or_default();
    let timeout = settings.provider_timeout();
    Ok(match record.provider {
        SenderProvider::WhatsappCloud => Arc::new(WhatsappCloud::new(
            &config("base_url"),
            &config("phone_number_id"),
            &secret("access_token"),
            timeout,
        )),
        SenderProvider::Twilio => {
            let from = match config("messaging_service_sid") {
                sid if !sid.is_empty() => TwilioFrom::MessagingService(sid),
                _ => TwilioFrom::Number(config("from")),
            };
            Arc::new(Twilio::new(
                &config("base_url"),
                &config("account_sid"),
                &secret("auth_token"),
                from,
                // Twilio reports each message's fate to the sender's webhook.
                Some(webhook_url(public_url, record.id)),
                timeout,
            ))
        }
        SenderProvider::Wablas => Arc::new(Wablas::new(
            &config("base_url"),
            &secret("token"),
            &secret("secret_key"),
            timeout,
        )),
        // A sender of the generic provider: no de-duplication is promised for it, so items in
        // flight at a crash become "unknown" rather than being sent twice.
        SenderProvider::Http => Arc::new(HttpProvider::new(
            &config("url"),
            &secret("token"),
            timeout,
            false,
        )),
        SenderProvider::Sandbox => Arc::new(SandboxProvider::with_receipts(
            Duration::from_millis(settings.provider.sandbox_latency_ms),
            kit.sandbox_receipts.clone(),
            record.id,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(provider: &str, config: Value) -> CreateSenderRequest {
        CreateSenderRequest {
            name: " Ventas ".into(),
            provider: provider.into(),
            config,
            rate_per_minute: None,
        }
    }

    fn rule(provider: &str, config: Value) -> SenderRule {
        check(&request(provider, config), &Settings::default()).unwrap_err()
    }

    #[test]
    fn settings_are_split_into_shown_and_sealed_with_defaults_filled() {
        let checked = check(
            &request(
                "whatsapp_cloud",
                json!({"phone_number_id": "1065", "access_token": "EAAG", "app_secret": "s",
                       "verify_token": "v"}),
            ),
            &Settings::default(),
        )
        .unwrap();
        assert_eq!(checked.name, "Ventas");
        assert_eq!(checked.rate_per_minute, DEFAULT_RATE_PER_MINUTE);
        assert_eq!(
            Value::Object(checked.config),
            json!({"base_url": "https://graph.facebook.com/v21.0", "phone_number_id": "1065"})
        );
        assert_eq!(
            Value::Object(checked.secrets),
            json!({"access_token": "EAAG", "app_secret": "s", "verify_token": "v"})
        );
    }

    #[test]
    fn every_mistake_gets_its_own_rule() {
        assert_eq!(
            rule("telegram", json!({})),
            SenderRule::UnknownProvider {
                got: "telegram".into()
            }
        );
        assert_eq!(rule("sandbox", json!([1])), SenderRule::ConfigNotObject);
        assert_eq!(
            rule("sandbox", json!({"token": "x"})),
            SenderRule::UnknownField {
                field: "token".into()
            }
        );
        assert_eq!(
            rule("wablas", json!({"token": "t"})),
            SenderRule::MissingField {
                field: "secret_key".into()
            }
        );
        assert_eq!(
            rule("wablas", json!({"token": 5, "secret_key": "k"})),
            SenderRule::NotText {
                field: "token".into()
            }
        );
        assert_eq!(
            rule("http", json!({"url": "ftp://x.example"})),
            SenderRule::NotUrl {
                field: "url".into(),
                value: "ftp://x.example".into()
            }
        );
        assert_eq!(
            rule("http", json!({"url": "http://169.254.169.254/latest"})),
            SenderRule::PrivateAddress {
                field: "url".into(),
                value: "http://169.254.169.254/latest".into()
            }
        );
        assert_eq!(
            rule("twilio", json!({"account_sid": "AC1", "auth_token": "t"})),
            SenderRule::TwilioFrom
        );
        assert_eq!(
            rule(
                "twilio",
                json!({"account_sid": "AC1", "auth_token": "t", "from": "+1", "messaging_service_sid": "MG1"})
            ),
            SenderRule::TwilioFrom
        );
        let mut long = request("sandbox", json!({}));
        long.name = "x".repeat(MAX_SENDER_NAME + 1);
        assert_eq!(
            check(&long, &Settings::default()).unwrap_err(),
            SenderRule::NameTooLong {
                max: MAX_SENDER_NAME as u32
            }
        );
        let mut fast = request("sandbox", json!({}));
        fast.rate_per_minute = Some(0);
        assert!(matches!(
            check(&fast, &Settings::default()).unwrap_err(),
            SenderRule::RateOutOfRange { got: 0, .. }
        ));
    }

    #[test]
    fn a_private_gateway_is_allowed_when_the_settings_say_so() {
        let mut settings = Settings::default();
        settings.senders.allow_private_addresses = true;
        let checked = check(
            &request("http", json!({"url": "http://127.0.0.1:9000/send"})),
            &settings,
        )
        .unwrap();
        assert_eq!(checked.config["url"], "http://127.0.0.1:9000/send");
        assert!(checked.secrets.is_empty());
    }
}
