//! What stops the consumer loop: the caller's shutdown, or the server refusing the ledger's
//! credentials on a reconnect.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Notify;

/// Why the consumer loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The caller's shutdown future completed.
    Shutdown,
    /// The server refused the ledger's credentials (the key was removed or replaced).
    CredentialsRefused,
}

/// The two signals that stop the loop, waited on wherever it waits for NATS.
pub(crate) struct Stopper<'a, F> {
    shutdown: Pin<&'a mut F>,
    refused: Arc<Notify>,
}

impl<'a, F: Future<Output = ()>> Stopper<'a, F> {
    pub(crate) fn new(shutdown: Pin<&'a mut F>, refused: Arc<Notify>) -> Self {
        Self { shutdown, refused }
    }

    /// Completes when either signal fires, saying which.
    pub(crate) async fn stopped(&mut self) -> Stop {
        tokio::select! {
            _ = self.shutdown.as_mut() => Stop::Shutdown,
            _ = self.refused.notified() => Stop::CredentialsRefused,
        }
    }

    /// Completes on the shutdown alone (a refusal is noticed at the next fetch).
    pub(crate) async fn shutdown(&mut self) {
        self.shutdown.as_mut().await
    }
}
