//! Reading the log as it is stored, for auditors: every record in chunk order, decoded without
//! checking that it sits at the position its seq says. [`Store::range`] refuses a record out of
//! place; an audit wants to see it, to tell a missing record from two swapped ones.

use super::{Store, bad_frame, sled_error};
use crate::Record;
use crate::codec;
use crate::error::StoreError;
use crate::layout::{Frames, LOG, key_seq, seq_range};

impl Store {
    /// Every stored record in storage order, as stored. An error names the position (the seq
    /// the record should have) of a record that does not decode; iteration goes on after it.
    pub fn records_as_stored(&self) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        let path = self.inner.path.clone();
        seq_range(&self.inner.ledger, LOG).flat_map(move |entry| {
            let chunk = entry
                .map_err(|e| sled_error(&path, e))
                .and_then(|(k, v)| Ok((key_seq(&k)?, v)));
            let out: Vec<Result<Record, StoreError>> = match chunk {
                Err(e) => vec![Err(e)],
                Ok((first, bytes)) => Frames::new(&bytes, first)
                    .map(|frame| {
                        let (seq, raw) = frame.map_err(bad_frame)?;
                        codec::decode_record(raw).map_err(|e| StoreError::Corrupt {
                            seq,
                            what: format!("the record does not decode: {e}"),
                        })
                    })
                    .collect(),
            };
            out
        })
    }
}
