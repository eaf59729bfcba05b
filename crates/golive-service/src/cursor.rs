//! The consumer loop's position in the stream, and its decisions about each fetched batch.
//!
//! Every message of the stream is processed once, in stream order, whatever the consumer
//! delivers: a redelivery of a processed message is skipped, and a message the consumer skipped
//! is read from the stream. A pull consumer can skip some: those in flight when a NATS node dies,
//! or those delivered to a run that was killed before it appended them (they come back only after
//! ack_wait, by which time the ack of a later batch, AckPolicy::All, has acknowledged them).
//! Reading them in order, rather than leaving them to the collectors' re-publish, makes the
//! ledger's log a function of the stream alone: ledger replicas on one stream append the same
//! events in the same order (same chain, same Merkle root), and a correction's fate does not
//! depend on redelivery timing.
//!
//! This module does no IO: the loop (`serve`) asks it what to do and does it.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// The next stream sequence the ledger processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCursor {
    next_seq: u64,
}

/// Where a [`StreamCursor`] resumed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// After the message the ledger's head record came from.
    AfterHead,
    /// The head record came through NATS, but the stream ends before it (it was deleted and
    /// created again): from the stream's first message.
    StreamBehindHead { head_stream_seq: u64 },
    /// The head did not come through NATS (an empty ledger, or one fed by `golive ingest`): from
    /// the stream's first message, what a new consumer would deliver first.
    StreamStart,
}

/// What the loop does with one fetched batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchPlan {
    /// No delivered message carried a stream sequence: nothing to process or acknowledge.
    Nothing,
    /// Only redeliveries of messages this ledger has processed already: acknowledge up to
    /// `ack_seq` (the last delivered) and append nothing.
    Skip { ack_seq: u64 },
    /// Process every stream sequence of the span, in order.
    Process(Span),
}

/// The stream sequences one batch covers, `from` to `last_seq` with none left out: each was
/// either delivered by the consumer or is to be read back from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    from: u64,
    last_seq: u64,
    /// The delivered sequences within `from..=last_seq`.
    delivered: BTreeSet<u64>,
}

/// Where the message at one stream sequence of a [`Span`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The consumer delivered it.
    Delivered(u64),
    /// The consumer did not deliver it: read it from the stream.
    ReadBack(u64),
}

impl StreamCursor {
    /// The cursor at start: the message after the one the head record came from
    /// (`head_stream_seq`), or the stream's first message when the head did not come through
    /// NATS or the stream ends before it.
    pub fn resume(
        head_stream_seq: Option<u64>,
        stream_first_seq: u64,
        stream_last_seq: u64,
    ) -> (Self, Resume) {
        let from_start = Self {
            next_seq: stream_first_seq.max(1),
        };
        match head_stream_seq {
            Some(s) if s <= stream_last_seq => (Self { next_seq: s + 1 }, Resume::AfterHead),
            Some(s) => (from_start, Resume::StreamBehindHead { head_stream_seq: s }),
            None => (from_start, Resume::StreamStart),
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Decides what to do with the stream sequences one fetch delivered (in any order, with
    /// any repeats).
    pub fn plan(&self, delivered: impl IntoIterator<Item = u64>) -> BatchPlan {
        let delivered: BTreeSet<u64> = delivered.into_iter().collect();
        let Some(&last_seq) = delivered.last() else {
            return BatchPlan::Nothing;
        };
        if last_seq < self.next_seq {
            return BatchPlan::Skip { ack_seq: last_seq };
        }
        let from = self.next_seq;
        BatchPlan::Process(Span {
            delivered: delivered.range(from..=last_seq).copied().collect(),
            from,
            last_seq,
        })
    }

    /// Moves past a span whose messages are durably appended.
    pub fn advance(&mut self, span: &Span) {
        assert!(
            span.last_seq >= self.next_seq,
            "the cursor at {} moves back to {}",
            self.next_seq,
            span.last_seq
        );
        self.next_seq = span.last_seq + 1;
    }
}

impl Span {
    pub fn from(&self) -> u64 {
        self.from
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether the consumer did not deliver the span's first message: then the loop asks the
    /// stream where it starts ([`Span::clamp_to_stream`]), as the messages before may be gone.
    pub fn starts_undelivered(&self) -> bool {
        !self.delivered.contains(&self.from)
    }

    /// The span without the sequences before the stream's first message: messages that aged
    /// out of the stream (or were purged) need no reading one by one. The last delivered
    /// message is always kept.
    pub fn clamp_to_stream(mut self, stream_first_seq: u64) -> Self {
        self.from = self.from.max(stream_first_seq.min(self.last_seq));
        self.delivered.retain(|&s| s >= self.from);
        self
    }

    /// How many messages of the span are to be read back from the stream.
    pub fn read_back_count(&self) -> u64 {
        self.seq_count() - self.delivered.len() as u64
    }

    /// How many stream sequences the span covers (at least one).
    pub fn seq_count(&self) -> u64 {
        self.last_seq - self.from + 1
    }

    /// Where each message of the span comes from, in stream order.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        self.seqs().map(|s| {
            if self.delivered.contains(&s) {
                Step::Delivered(s)
            } else {
                Step::ReadBack(s)
            }
        })
    }

    fn seqs(&self) -> RangeInclusive<u64> {
        self.from..=self.last_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor_at(next_seq: u64) -> StreamCursor {
        StreamCursor { next_seq }
    }

    fn span_of(plan: BatchPlan) -> Span {
        match plan {
            BatchPlan::Process(span) => span,
            other => panic!("expected a span to process, got {other:?}"),
        }
    }

    #[test]
    fn resumes_after_the_message_of_the_head_record() {
        // Proves: a restart continues right after the stream sequence stored with the head.
        let (cursor, resume) = StreamCursor::resume(Some(41), 1, 100);
        assert_eq!((cursor.next_seq(), resume), (42, Resume::AfterHead));
        let (cursor, _) = StreamCursor::resume(Some(100), 1, 100);
        assert_eq!(cursor.next_seq(), 101);
    }

    #[test]
    fn resumes_from_the_stream_start_when_the_head_did_not_come_through_nats() {
        // Proves: an empty or file-fed ledger starts at the stream's first message (never 0).
        let (cursor, resume) = StreamCursor::resume(None, 7, 100);
        assert_eq!((cursor.next_seq(), resume), (7, Resume::StreamStart));
        let (cursor, _) = StreamCursor::resume(None, 0, 0);
        assert_eq!(cursor.next_seq(), 1);
    }

    #[test]
    fn resumes_from_the_stream_start_when_the_stream_ends_before_the_head() {
        // Proves: a stream deleted and created again (behind the ledger) is read from its start.
        let (cursor, resume) = StreamCursor::resume(Some(500), 1, 20);
        assert_eq!(cursor.next_seq(), 1);
        assert_eq!(
            resume,
            Resume::StreamBehindHead {
                head_stream_seq: 500
            }
        );
    }

    #[test]
    fn an_in_order_batch_is_processed_as_delivered_and_the_cursor_moves_past_it() {
        // Proves: the common case reads nothing back and the next batch starts after this one.
        let mut cursor = cursor_at(5);
        let span = span_of(cursor.plan([7, 5, 6]));
        assert!(!span.starts_undelivered());
        assert_eq!(span.read_back_count(), 0);
        assert_eq!(
            span.steps().collect::<Vec<_>>(),
            [Step::Delivered(5), Step::Delivered(6), Step::Delivered(7)]
        );
        cursor.advance(&span);
        assert_eq!(cursor.next_seq(), 8);
    }

    #[test]
    fn a_gap_in_the_delivery_is_read_back_from_the_stream_in_order() {
        // Proves: sequences the consumer did not deliver are read back, in stream order.
        let span = span_of(cursor_at(5).plan([5, 8]));
        assert_eq!(span.read_back_count(), 2);
        assert_eq!(
            span.steps().collect::<Vec<_>>(),
            [
                Step::Delivered(5),
                Step::ReadBack(6),
                Step::ReadBack(7),
                Step::Delivered(8)
            ]
        );
    }

    #[test]
    fn only_redeliveries_are_skipped_and_acknowledged_up_to_the_last() {
        // Proves: a batch of processed messages appends nothing and acks its last message.
        assert_eq!(
            cursor_at(10).plan([3, 9, 4]),
            BatchPlan::Skip { ack_seq: 9 }
        );
    }

    #[test]
    fn redeliveries_mixed_with_new_messages_are_left_out_of_the_span() {
        // Proves: the processed part of a batch is not appended again; the new part is.
        let span = span_of(cursor_at(5).plan([3, 4, 5, 6, 4]));
        assert_eq!((span.from(), span.last_seq()), (5, 6));
        assert_eq!(
            span.steps().collect::<Vec<_>>(),
            [Step::Delivered(5), Step::Delivered(6)]
        );
    }

    #[test]
    fn a_batch_without_stream_sequences_is_nothing_to_do() {
        // Proves: no message with a stream sequence means no append and no ack.
        assert_eq!(cursor_at(1).plan(Vec::new()), BatchPlan::Nothing);
    }

    #[test]
    fn a_span_starting_undelivered_skips_what_aged_out_of_the_stream() {
        // Proves: sequences before the stream's first message are not read back one by one.
        let span = span_of(cursor_at(3).plan([10]));
        assert!(span.starts_undelivered());
        let span = span.clamp_to_stream(8);
        assert_eq!(
            span.steps().collect::<Vec<_>>(),
            [Step::ReadBack(8), Step::ReadBack(9), Step::Delivered(10)]
        );
        // A stream that says it starts after the last delivered message keeps that message.
        let span = span_of(cursor_at(3).plan([10])).clamp_to_stream(20);
        assert_eq!(span.steps().collect::<Vec<_>>(), [Step::Delivered(10)]);
        // A stream that starts before the cursor changes nothing.
        let span = span_of(cursor_at(3).plan([10])).clamp_to_stream(1);
        assert_eq!((span.from(), span.seq_count()), (3, 8));
    }

    #[test]
    #[should_panic(expected = "moves back")]
    fn the_cursor_never_moves_back() {
        // Proves: advancing past a span behind the cursor is a programmer error that crashes.
        let span = span_of(cursor_at(5).plan([5, 6]));
        let mut cursor = cursor_at(9);
        cursor.advance(&span);
    }
}
