//! The built-in demo provider: nothing is delivered. Deterministic, so demos and tests can rely on it.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{MessagingProvider, OutgoingMessage, Receipt, SendError};
use crate::protocol::Delivery;
use crate::protocol::fault::SendFault;

/// A delivery receipt the sandbox makes up for a message it "sent", due at `due`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedReceipt {
    pub sender: Uuid,
    pub message_id: String,
    pub status: Delivery,
    pub error: Option<String>,
    pub due: tokio::time::Instant,
}

/// Where sandbox senders hand the receipts they make up (the server records them as if a
/// provider's webhook had brought them).
#[derive(Clone, Debug)]
pub struct ReceiptSink(mpsc::UnboundedSender<SimulatedReceipt>);

impl ReceiptSink {
    /// A sink and the receiving end the server reads.
    pub fn channel() -> (ReceiptSink, mpsc::UnboundedReceiver<SimulatedReceipt>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ReceiptSink(tx), rx)
    }
}

/// What the sandbox says of an undelivered message.
pub const UNDELIVERED: &str = "Sandbox: the phone stayed off until the provider gave up";

/// Pretends to send: waits `latency`, then succeeds, except for numbers ending in `13`.
pub struct SandboxProvider {
    latency: Duration,
    /// A sandbox sender's receipts: where they go, and the sender they are of.
    receipts: Option<(ReceiptSink, Uuid)>,
}

impl SandboxProvider {
    /// A sandbox that takes `latency` per message.
    pub fn new(latency: Duration) -> Self {
        SandboxProvider {
            latency,
            receipts: None,
        }
    }

    /// A sandbox sender that also makes up realistic receipts for what it "sends": numbers
    /// ending in 7 come back undelivered, other odd ones delivered, even ones delivered and then
    /// read, each after a second or a few.
    pub fn with_receipts(latency: Duration, sink: ReceiptSink, sender: Uuid) -> Self {
        SandboxProvider {
            latency,
            receipts: Some((sink, sender)),
        }
    }

    fn make_up_receipts(&self, to: &str, message_id: &str) {
        let Some((sink, sender)) = &self.receipts else {
            return;
        };
        // Spread over time by the message id, the same way every run.
        let spread = message_id
            .bytes()
            .fold(0_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 1_000;
        let now = tokio::time::Instant::now();
        let first = now + Duration::from_millis(1_000 + spread);
        let receipt = |status, error: Option<&str>, due| SimulatedReceipt {
            sender: *sender,
            message_id: message_id.to_owned(),
            status,
            error: error.map(str::to_owned),
            due,
        };
        let last_digit = to.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(0);
        let made_up = match last_digit {
            7 => vec![receipt(Delivery::Undelivered, Some(UNDELIVERED), first)],
            d if d % 2 == 1 => vec![receipt(Delivery::Delivered, None, first)],
            _ => vec![
                receipt(Delivery::Delivered, None, first),
                receipt(
                    Delivery::Read,
                    None,
                    first + Duration::from_millis(2_000 + spread * 2),
                ),
            ],
        };
        for receipt in made_up {
            // The server stopping is the only way the other end goes: nothing to tell anyone.
            let _ = sink.0.send(receipt);
        }
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
        let id = format!("sandbox-{}", message.idempotency_key);
        self.make_up_receipts(message.to, &id);
        Ok(Receipt {
            provider_message_id: Some(id),
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

    #[tokio::test]
    async fn a_sandbox_sender_makes_up_receipts_by_the_numbers_last_digit() {
        let (sink, mut made_up) = ReceiptSink::channel();
        let sender = Uuid::now_v7();
        let sandbox = SandboxProvider::with_receipts(Duration::ZERO, sink, sender);
        let mut statuses = Vec::new();
        for to in [
            "+34600000010",
            "+34600000011",
            "+34600000017",
            "+34600000113",
        ] {
            let _ = sandbox.send(&message(to)).await;
        }
        drop(sandbox);
        while let Some(receipt) = made_up.recv().await {
            assert_eq!(receipt.sender, sender);
            assert_eq!(receipt.message_id, "sandbox-k");
            statuses.push(receipt.status);
        }
        assert_eq!(
            statuses,
            [
                Delivery::Delivered,
                Delivery::Read,
                Delivery::Delivered,
                Delivery::Undelivered
            ],
            "a number that failed gets none"
        );
    }
}
