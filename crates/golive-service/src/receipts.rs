//! The core-NATS responder that answers collectors' receipt queries from the store (see
//! `golive_model::protocol`).

use futures::StreamExt;
use golive_model::EventId;
use golive_model::protocol::{self, RECEIPTS_QUEUE_GROUP, RECEIPTS_SUBJECT, ReceiptStatus};
use golive_store::{Store, StoreError};

use crate::error::{ServeError, js_err};

/// What the ledger durably knows of each id.
pub fn receipt_statuses(store: &Store, ids: &[EventId]) -> Result<Vec<ReceiptStatus>, StoreError> {
    let head = store.head().seq;
    ids.iter()
        .map(|id| {
            // Only what is at or below the flushed head counts as appended.
            if store.seq_of(id)?.is_some_and(|seq| seq <= head) {
                return Ok(ReceiptStatus::Appended);
            }
            if store.dead_letter_of(id)?.is_some() {
                return Ok(ReceiptStatus::DeadLettered);
            }
            Ok(ReceiptStatus::Unknown)
        })
        .collect()
}

/// Answers receipt queries until the subscription ends.
pub(crate) async fn answer_receipts(
    client: async_nats::Client,
    store: Store,
) -> Result<(), ServeError> {
    let mut sub = client
        .queue_subscribe(RECEIPTS_SUBJECT, RECEIPTS_QUEUE_GROUP.to_owned())
        .await
        .map_err(js_err)?;
    while let Some(msg) = sub.next().await {
        let Some(reply) = msg.reply else { continue };
        let body = match protocol::decode_receipt_query(&msg.payload) {
            Ok(ids) => match receipt_statuses(&store, &ids) {
                Ok(st) => protocol::encode_receipt_reply(&st),
                Err(e) => {
                    tracing::error!(error = %e, "receipt lookup failed");
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "malformed receipt query ignored");
                continue;
            }
        };
        if let Err(e) = client.publish(reply, body.into()).await {
            tracing::warn!(error = %e, "could not send a receipt reply");
        }
    }
    Ok(())
}
