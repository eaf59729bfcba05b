//! Reading: records from the reader become outbox entries (or local rejections), and entries
//! become publishable once a flush covers them. Flushes are group commits: one runs at a time,
//! and the next covers everything written meanwhile.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

use golive_model::EventId;

use super::{Action, Engine, Now, StoredCopy};
use crate::REJECTIONS_KEPT_MAX;
use crate::error::CollectError;
use crate::feed::{FeedRecord, LocalRejection, ValidEvent};
use crate::input::ReadItem;
use crate::outbox::{EntryState, FileKey, OutboxEntry, PublishState};

/// Events read into the outbox but not yet covered by a flush, at most: reading pauses there
/// until a flush makes them publishable.
const UNFLUSHED_EVENTS_MAX: usize = 8 * super::READ_BATCH_MAX;

/// What one batch of read records adds up to.
#[derive(Default)]
struct Batch {
    entries: Vec<OutboxEntry>,
    /// Event id -> index in `entries`, for an id read twice in one batch.
    ids: HashMap<EventId, usize>,
    files: Vec<FileKey>,
    failure: Option<CollectError>,
    ended: bool,
}

impl Engine {
    /// Writes a batch of read records to the outbox; they are published once a flush covers
    /// them (see [`Engine::start_flush`]).
    pub(super) fn on_read(
        &mut self,
        items: &mut Vec<ReadItem>,
        stored: &[StoredCopy],
        now: Now,
        out: &mut Vec<Action>,
    ) -> ControlFlow<()> {
        let mut batch = Batch::default();
        let mut stored = stored.iter().peekable();
        for (index, item) in items.drain(..).enumerate() {
            match item {
                ReadItem::Record {
                    source,
                    record: FeedRecord::Event(ev),
                } => {
                    let in_outbox = stored.next_if(|s| s.index == index).map(|s| s.same_payload);
                    self.take_event(&source, ev, in_outbox, &mut batch, now.unix_ms);
                }
                ReadItem::Record {
                    record: FeedRecord::Rejected(r),
                    ..
                } => {
                    self.summary.read += 1;
                    self.reject(r);
                }
                ReadItem::FileDone(key) => batch.files.push(key),
                ReadItem::Failed(e) => batch.failure = Some(e),
                ReadItem::End => batch.ended = true,
            }
        }
        self.queue(batch, now.at, out)
    }

    /// One valid event: new (an entry of the batch), already in the outbox with the same bytes
    /// (skipped), or with the same id and other bytes (rejected). `in_outbox` is the driver's
    /// [`StoredCopy`] fact.
    fn take_event(
        &mut self,
        source: &str,
        ev: ValidEvent,
        in_outbox: Option<bool>,
        batch: &mut Batch,
        now_unix_ms: i64,
    ) {
        self.summary.read += 1;
        debug_assert_eq!(
            in_outbox.is_some(),
            self.by_id.contains_key(&ev.event_id),
            "the driver marks exactly the read events whose id the outbox holds"
        );
        let same = match batch.ids.get(&ev.event_id) {
            Some(&i) => Some(batch.entries[i].payload == ev.canonical),
            None => in_outbox,
        };
        match same {
            Some(true) => self.summary.already_queued += 1,
            Some(false) => self.reject(LocalRejection {
                source: source.to_owned(),
                line: ev.line,
                field: "event_id".to_owned(),
                reason: "an event with this event_id and different content is already in the \
                         outbox; give a correction its own event_id and `supersedes`"
                    .to_owned(),
            }),
            None => {
                let seq = self.reading.next_seq;
                self.reading.next_seq += 1;
                batch.ids.insert(ev.event_id, batch.entries.len());
                batch.entries.push(OutboxEntry {
                    seq,
                    event_id: ev.event_id,
                    subject: ev.subject,
                    payload: ev.canonical,
                    state: EntryState {
                        state: PublishState::Queued,
                        republishes: 0,
                        publish_attempts: 0,
                        queued_unix_ms: now_unix_ms,
                        last_publish_unix_ms: None,
                    },
                });
            }
        }
    }

    /// Takes the batch's new entries into the engine and asks for them to be written.
    fn queue(&mut self, batch: Batch, now: Instant, out: &mut Vec<Action>) -> ControlFlow<()> {
        let Batch {
            entries,
            files,
            failure,
            ended,
            ..
        } = batch;
        for e in &entries {
            self.track(e, None);
            self.reading.unflushed.push(e.seq);
            self.summary.queued += 1;
        }
        if !entries.is_empty() || !files.is_empty() {
            out.push(Action::Insert { entries, files });
        }
        if let Some(e) = failure {
            out.push(Action::Fail(e));
            return ControlFlow::Break(());
        }
        if ended {
            self.end_of_input(now);
        }
        ControlFlow::Continue(())
    }

    pub(super) fn end_of_input(&mut self, now: Instant) {
        if self.reading.open {
            self.reading.open = false;
            self.reading.done_at = Some(now);
            tracing::info!(
                read = self.summary.read,
                queued = self.summary.queued,
                rejected_locally = self.summary.rejected_locally,
                "input read"
            );
        }
    }

    fn reject(&mut self, r: LocalRejection) {
        self.summary.rejected_locally += 1;
        if self.summary.rejections.len() < REJECTIONS_KEPT_MAX {
            tracing::warn!(
                source = %r.source,
                line = r.line,
                field = %r.field,
                reason = %r.reason,
                "rejected locally, not sent"
            );
            self.summary.rejections.push(r);
        } else {
            tracing::debug!(rejection = %r, "rejected locally, not sent");
        }
    }

    /// Starts a flush of everything written so far, unless one is running (then the next
    /// starts when it ends, covering all that was written meanwhile: group commit).
    pub(super) fn start_flush(&mut self, out: &mut Vec<Action>) {
        if self.reading.flushing.is_some() || self.reading.unflushed.is_empty() {
            return;
        }
        self.reading.flushing = Some(std::mem::take(&mut self.reading.unflushed));
        out.push(Action::Flush);
    }

    /// The entries the finished flush covered are durable: publish them.
    pub(super) fn on_flushed(&mut self, out: &mut Vec<Action>) {
        for seq in self.reading.flushing.take().unwrap_or_default() {
            if self.slots.contains_key(&seq) {
                self.outgoing.to_publish.insert(seq);
            }
        }
        self.start_flush(out);
    }

    /// How many records the next read may take. Read no further ahead of the outbox's
    /// flushes than a few batches: what is read is published only once flushed, so reading a
    /// whole file first would delay every publish until the end of the file.
    pub(super) fn read_max(&self) -> usize {
        if !self.reading.open {
            return 0;
        }
        let space = self
            .space()
            .min(UNFLUSHED_EVENTS_MAX.saturating_sub(self.reading.unflushed.len()));
        super::READ_BATCH_MAX.min(space)
    }
}
