//! Messaging providers: who actually delivers a bulk send's messages.

mod http;
pub mod sandbox;
mod twilio;
mod wablas;
mod whatsapp_cloud;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::protocol::JobId;
use crate::protocol::fault::SendFault;
use crate::protocol::senders::SenderHealth;
use crate::server::settings::{ProviderKind, Settings};

pub use http::HttpProvider;
pub use sandbox::SandboxProvider;
pub use twilio::{Twilio, TwilioFrom};
pub use wablas::Wablas;
pub use whatsapp_cloud::WhatsappCloud;

/// Whether a gateway's error status means the credentials themselves were refused.
pub(super) fn refused_credentials(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 401 | 403)
}

/// One message to one recipient, as a device hands it to the provider.
#[derive(Clone, Debug)]
pub struct OutgoingMessage<'a> {
    pub job_id: JobId,
    pub device_id: u32,
    pub to: &'a str,
    pub message: &'a str,
    /// Stable for the item across retries, restarts and instances.
    pub idempotency_key: &'a str,
}

/// The provider accepted the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    pub provider_message_id: Option<String>,
}

/// Why a send did not go through, and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: timeouts, connection errors, 408, 429, 5xx.
    #[error("{}", fault.english())]
    Transient {
        fault: SendFault,
        /// What the provider asked for with `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Never retried: the provider refused this message (other 4xx).
    #[error("{}", fault.english())]
    Permanent { fault: SendFault },
}

impl SendError {
    /// Why, as a code.
    pub fn fault(&self) -> &SendFault {
        match self {
            SendError::Transient { fault, .. } | SendError::Permanent { fault } => fault,
        }
    }
}

/// An HTTP client for one provider: its timeout, a shorter connect timeout, and jobpulse's name.
pub(super) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("jobpulse/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with only timeouts set always builds")
}

/// A request that got no answer: worth retrying. The page words the code; the cause stays in
/// the server's log.
pub(super) fn unanswered(provider: &str, error: reqwest::Error) -> SendError {
    let fault = if error.is_timeout() {
        SendFault::ProviderTimeout
    } else if error.is_connect() {
        SendFault::ProviderUnreachable
    } else {
        tracing::warn!(%error, provider, "provider request failed");
        SendFault::ProviderRequestFailed
    };
    SendError::Transient {
        fault,
        retry_after: None,
    }
}

/// What a gateway says of the sender itself (its device, number or account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    pub health: SenderHealth,
    /// Why, when it is not `ok`.
    pub fault: Option<SendFault>,
}

impl Reported {
    /// The gateway says the sender can send.
    pub fn ok() -> Reported {
        Reported {
            health: SenderHealth::Ok,
            fault: None,
        }
    }

    /// The gateway says the sender cannot send (or only poorly), and why.
    pub fn not_ok(health: SenderHealth, fault: SendFault) -> Reported {
        Reported {
            health,
            fault: Some(fault),
        }
    }
}

/// Something that delivers messages.
#[async_trait]
pub trait MessagingProvider: Send + Sync + 'static {
    /// A short name for logs and the UI.
    fn name(&self) -> &'static str;
    /// True for the built-in demo provider, which delivers nothing: the UI labels it.
    fn is_sandbox(&self) -> bool {
        false
    }
    /// Whether a repeated `Idempotency-Key` is delivered once.
    fn deduplicates(&self) -> bool;
    /// Sends one message.
    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError>;
    /// Asks the gateway how the sender is, where it tells (a Wablas device's connection, a
    /// Cloud API number's status, a Twilio account's); `None` when it does not tell, or gave
    /// no usable answer this time: the results of sends decide then.
    async fn check_health(&self) -> Option<Reported> {
        None
    }
}

/// The provider the settings name.
pub fn from_settings(settings: &Settings) -> Arc<dyn MessagingProvider> {
    match settings.provider.kind {
        ProviderKind::Sandbox => Arc::new(SandboxProvider::new(Duration::from_millis(
            settings.provider.sandbox_latency_ms,
        ))),
        ProviderKind::Http => Arc::new(HttpProvider::new(
            &settings.provider.url,
            &settings.provider.token,
            settings.provider_timeout(),
            settings.provider.deduplicates,
        )),
        ProviderKind::WhatsappCloud => Arc::new(WhatsappCloud::new(
            &settings.provider.url,
            &settings.provider.phone_number_id,
            &settings.provider.token,
            settings.provider_timeout(),
        )),
    }
}
