//! Senders (CONTRACT.md "Senders"): a tenant's sending identities, and what each provider's
//! settings are, so the REST checks and the admin page's form agree on them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The gateway a sender sends through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderProvider {
    WhatsappCloud,
    Twilio,
    Wablas,
    Http,
    /// The built-in demo: delivers nothing.
    Sandbox,
}

/// One setting of a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigField {
    pub name: &'static str,
    /// Stored sealed, used, never shown back.
    pub secret: bool,
    pub required: bool,
    /// An http(s) address.
    pub url: bool,
    /// What an empty value means.
    pub default: Option<&'static str>,
}

const fn field(name: &'static str) -> ConfigField {
    ConfigField {
        name,
        secret: false,
        required: true,
        url: false,
        default: None,
    }
}

const fn secret(name: &'static str) -> ConfigField {
    ConfigField {
        secret: true,
        ..field(name)
    }
}

const fn base_url(default: &'static str) -> ConfigField {
    ConfigField {
        required: false,
        url: true,
        default: Some(default),
        ..field("base_url")
    }
}

const fn optional(name: &'static str) -> ConfigField {
    ConfigField {
        required: false,
        ..field(name)
    }
}

const WHATSAPP_CLOUD: &[ConfigField] = &[
    base_url("https://graph.facebook.com/v21.0"),
    field("phone_number_id"),
    secret("access_token"),
    secret("app_secret"),
    secret("verify_token"),
];
// One of `from` and `messaging_service_sid` (checked apart).
const TWILIO: &[ConfigField] = &[
    base_url("https://api.twilio.com"),
    field("account_sid"),
    secret("auth_token"),
    optional("from"),
    optional("messaging_service_sid"),
];
const WABLAS: &[ConfigField] = &[
    base_url("https://solo.wablas.com"),
    secret("token"),
    secret("secret_key"),
];
const HTTP: &[ConfigField] = &[
    ConfigField {
        url: true,
        ..field("url")
    },
    ConfigField {
        required: false,
        ..secret("token")
    },
];

impl SenderProvider {
    /// Every provider, in the order the form offers them.
    pub const ALL: [SenderProvider; 5] = [
        SenderProvider::WhatsappCloud,
        SenderProvider::Twilio,
        SenderProvider::Wablas,
        SenderProvider::Http,
        SenderProvider::Sandbox,
    ];

    /// The wire name (`whatsapp_cloud`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SenderProvider::WhatsappCloud => "whatsapp_cloud",
            SenderProvider::Twilio => "twilio",
            SenderProvider::Wablas => "wablas",
            SenderProvider::Http => "http",
            SenderProvider::Sandbox => "sandbox",
        }
    }

    /// The provider with this wire name.
    pub fn parse(name: &str) -> Option<SenderProvider> {
        SenderProvider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The product's own name, the same in every language.
    pub fn label(self) -> &'static str {
        match self {
            SenderProvider::WhatsappCloud => "WhatsApp Cloud API",
            SenderProvider::Twilio => "Twilio",
            SenderProvider::Wablas => "Wablas",
            SenderProvider::Http => "HTTP",
            SenderProvider::Sandbox => "Sandbox",
        }
    }

    /// The settings a sender of this provider takes.
    pub fn fields(self) -> &'static [ConfigField] {
        match self {
            SenderProvider::WhatsappCloud => WHATSAPP_CLOUD,
            SenderProvider::Twilio => TWILIO,
            SenderProvider::Wablas => WABLAS,
            SenderProvider::Http => HTTP,
            SenderProvider::Sandbox => &[],
        }
    }
}

/// Whether a sender is getting messages through, as jobpulse last saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderHealth {
    Ok,
    /// Several sends in a row failed for a reason worth waiting out.
    Degraded,
    /// Failing for long enough that the engine gives it no more work until it recovers.
    Down,
    /// Nothing sent yet.
    #[default]
    Unknown,
}

impl SenderHealth {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderHealth::Ok => "ok",
            SenderHealth::Degraded => "degraded",
            SenderHealth::Down => "down",
            SenderHealth::Unknown => "unknown",
        }
    }

    /// The health with this wire name (unknown for anything else).
    pub fn parse(name: &str) -> SenderHealth {
        match name {
            "ok" => SenderHealth::Ok,
            "degraded" => SenderHealth::Degraded,
            "down" => SenderHealth::Down,
            _ => SenderHealth::Unknown,
        }
    }
}

/// What a sender's items came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderStats {
    pub sent: u64,
    pub failed: u64,
    pub delivered: u64,
    pub read: u64,
}

/// A sender as REST and the pages show it: never its secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderView {
    pub id: Uuid,
    pub name: String,
    pub provider: SenderProvider,
    pub active: bool,
    pub rate_per_minute: u32,
    pub health: SenderHealth,
    pub health_detail: Option<String>,
    /// Added: `health_detail` as a code, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_fault: Option<super::fault::SendFault>,
    /// Where the provider sends receipts and replies (absolute, from `public_url`).
    pub webhook_url: String,
    pub stats: SenderStats,
    /// Added: the settings that are not secret (base URL, phone number id, …).
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Added: the names of the secrets stored for it (never their values).
    #[serde(default)]
    pub secrets_set: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A sender's health as the live channel carries it (`senders_subscribed`, `sender_health`):
/// what any member of the tenant may see, never its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderHealthView {
    pub sender_id: Uuid,
    pub name: String,
    pub provider: SenderProvider,
    pub active: bool,
    pub health: SenderHealth,
    pub health_detail: Option<String>,
    /// `health_detail` as a code, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_fault: Option<super::fault::SendFault>,
}

impl SenderView {
    /// Its health as the live channel carries it.
    pub fn health_view(&self) -> SenderHealthView {
        SenderHealthView {
            sender_id: self.id,
            name: self.name.clone(),
            provider: self.provider,
            active: self.active,
            health: self.health,
            health_detail: self.health_detail.clone(),
            health_fault: self.health_fault.clone(),
        }
    }
}

/// `POST /api/senders` body; `provider` and `config` are checked by hand, so every mistake gets
/// its own answer in the reader's language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateSenderRequest {
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub config: serde_json::Value,
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
}

/// `PATCH /api/senders/{id}` body: what may change after creation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateSenderRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// `201` answer to `POST /api/senders`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderCreated {
    pub sender: SenderView,
}

/// The rate a sender gets when the request names none.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;
/// The fastest a sender may be set to send.
pub const MAX_RATE_PER_MINUTE: u32 = 60_000;
/// Longest sender name, in characters.
pub const MAX_SENDER_NAME: usize = 100;
