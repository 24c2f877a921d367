//! The built-in demo provider: nothing is delivered. Deterministic, so demos and tests can rely on it.

use std::time::Duration;

use async_trait::async_trait;

use super::{MessagingProvider, OutgoingMessage, Receipt, SendError};
use crate::protocol::fault::SendFault;

/// Pretends to send: waits `latency`, then succeeds, except for numbers ending in `13`.
pub struct SandboxProvider {
    latency: Duration,
}

impl SandboxProvider {
    /// A sandbox that takes `latency` per message.
    pub fn new(latency: Duration) -> Self {
        SandboxProvider { latency }
    }
}

#[async_trait]
impl MessagingProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn is_sandbox(&self) -> bool {
        true
    }

    fn deduplicates(&self) -> bool {
        true
    }

    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if message.to.ends_with("13") {
            return Err(SendError::Permanent {
                fault: SendFault::NotOnWhatsapp,
            });
        }
        Ok(Receipt {
            provider_message_id: Some(format!("sandbox-{}", message.idempotency_key)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobId;

    fn message(to: &str) -> OutgoingMessage<'_> {
        OutgoingMessage {
            job_id: JobId(uuid::Uuid::nil()),
            device_id: 1,
            to,
            message: "hola",
            idempotency_key: "k",
        }
    }

    #[tokio::test]
    async fn numbers_ending_in_13_fail_permanently() {
        let sandbox = SandboxProvider::new(Duration::ZERO);
        assert!(sandbox.send(&message("+34600000012")).await.is_ok());
        assert_eq!(
            sandbox.send(&message("+34600000013")).await,
            Err(SendError::Permanent {
                fault: SendFault::NotOnWhatsapp
            })
        );
    }
}
