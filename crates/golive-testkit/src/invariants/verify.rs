//! What must hold for the export parser and verifier on ANY input, asserted with panics so that
//! the same code serves the property tests (golive-verify's `tests/export.rs`) and the fuzz
//! target `export_line`. No proptest here.

use golive_verify::{
    CheckpointEntry, Line, Outcome, TrustKeys, Verified, VerifierKey, parse_line, verify_export,
    verify_export_with, write_record_line,
};

/// Parses one line. A line that parses is written back in its own format and parses again to
/// the same value (the reader and the writer agree on every value the reader accepts); a
/// header's start and a checkpoint's proof are derived without panicking.
pub fn parse_line_checked(line: &str) {
    match parse_line(line) {
        Err(e) => assert!(!e.is_empty(), "an error without a message"),
        Ok(Line::Record(r)) => {
            let mut out = Vec::new();
            write_record_line(&mut out, &r);
            let text = String::from_utf8(out).expect("a written record line is UTF-8");
            match parse_line(text.trim_end_matches('\n')) {
                Ok(Line::Record(again)) => assert_eq!(again, r, "record line round trip"),
                other => panic!("a written record line reads back as {other:?}: {text}"),
            }
        }
        Ok(Line::Header(h)) => {
            let text = serde_json::to_string(&h).expect("a header serialises");
            match parse_line(&text) {
                Ok(Line::Header(again)) => assert_eq!(again, h, "header line round trip"),
                other => panic!("a written header reads back as {other:?}: {text}"),
            }
            if let Ok(start) = h.start() {
                assert_eq!(start.next_seq, h.from_seq);
                assert_eq!(start.frontier.size(), h.from_seq - 1);
            }
        }
        Ok(Line::Checkpoint(c)) => {
            let text = serde_json::to_string(&c).expect("a checkpoint line serialises");
            match parse_line(&text) {
                Ok(Line::Checkpoint(again)) => assert_eq!(again, c, "checkpoint line round trip"),
                other => panic!("a written checkpoint line reads back as {other:?}: {text}"),
            }
            let _ = CheckpointEntry::from_line(c);
        }
    }
}

/// Verifies `bytes` as a whole export with `key` and the trust keys `trust` (each record's
/// origin signature is checked, [`golive_verify::OriginAudit`]): an answer (verified, tampered
/// at a seq, or could not read), never a panic. A verified history is consistent with itself,
/// tallies each of its records once, and verifies the same without the trust keys.
pub fn verify_export_checked(bytes: &[u8], key: &VerifierKey, trust: &TrustKeys) -> Outcome {
    let open = || Ok(std::io::Cursor::new(bytes));
    let outcome = verify_export_with(open, key, Some(trust.clone()));
    if let Outcome::Verified(v) = &outcome {
        assert!(v.signed_size <= v.head_seq, "signed beyond the head: {v:?}");
        assert_eq!(
            v.checkpoints > 0,
            v.origin.is_some(),
            "an origin without a checkpoint, or the reverse: {v:?}"
        );
        let tally = v.origins.as_ref().expect("trust keys given, a tally");
        let counted: u64 = tally
            .values()
            .map(|t| t.signed + t.signed_by_revoked_key + t.unsigned)
            .sum();
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let from_seq = match std::str::from_utf8(first).map(parse_line) {
            Ok(Ok(Line::Header(h))) => h.from_seq,
            _ => panic!("verified without a header on line 1"),
        };
        assert_eq!(counted, v.head_seq + 1 - from_seq, "records tallied: {v:?}");
        match verify_export(open, key) {
            Outcome::Verified(without) => assert_eq!(
                *without,
                Verified {
                    origins: None,
                    ..(**v).clone()
                },
                "trust keys changed what verified"
            ),
            other => panic!("verified with trust keys, not without: {other:?}"),
        }
    }
    outcome
}

/// Both checks over a whole input: every line, then the export.
pub fn export_checked(bytes: &[u8], key: &VerifierKey, trust: &TrustKeys) -> Outcome {
    if let Ok(text) = std::str::from_utf8(bytes) {
        for line in text.lines() {
            parse_line_checked(line);
        }
    }
    verify_export_checked(bytes, key, trust)
}
