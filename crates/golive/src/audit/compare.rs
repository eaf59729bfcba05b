//! Two ledgers side by side: where they part, if anywhere. Each side is a store directory, an
//! export file or a running ledger; only the records' chain hashes are compared.

use std::path::Path;

use golive_store::Store;
use golive_verify::to_hex;

use super::export_file::ExportHashes;
use super::{AuditError, HashStream};

/// Where two ledgers stand against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Same records up to both heads, hence the same Merkle root (`root`, at the head).
    Identical { head_seq: u64, root: [u8; 32] },
    /// One (`'A'` or `'B'`) is a prefix of the other: a replica behind.
    Prefix {
        shorter: char,
        common: u64,
        longer_head: u64,
    },
    /// The first seq whose record differs.
    Diverge { seq: u64, a: String, b: String },
}

/// One side of a comparison: a store directory, an export file or a running ledger.
pub enum Side {
    Store(Store),
    Export(std::path::PathBuf),
    Server(crate::client::Client),
}

impl Side {
    /// `http://...` or `https://...` is a running ledger; a directory a store; else an export.
    pub fn open(arg: &str) -> Result<Side, AuditError> {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            return Ok(Side::Server(crate::client::Client::new(arg)));
        }
        let path = Path::new(arg);
        if path.is_dir() {
            Ok(Side::Store(Store::open(path)?))
        } else {
            Ok(Side::Export(path.to_owned()))
        }
    }

    /// (seq, chain hash recomputed from the record's contents) of each record, in order.
    fn hashes(&self) -> HashStream<'_> {
        match self {
            Side::Store(s) => Box::new(s.iter_from(1).map(|r| {
                r.map(|r| (r.seq, r.computed_hash()))
                    .map_err(AuditError::from)
            })),
            Side::Export(path) => Box::new(ExportHashes::open(path)),
            Side::Server(client) => super::server::hashes(client),
        }
    }
}

/// Walks both ledgers' records in step and reports the first seq whose chain hash, recomputed
/// from the record, differs. Equal chain hashes at seq N mean equal histories up to N (the
/// hash commits to every record before), so this finds where they part; the Merkle tree's
/// leaves are those chain hashes, so equal histories have equal roots at every size (the root
/// at the common head is computed here and reported). It does not check signatures: run
/// `verify` on each side for that.
pub fn compare(a: &Side, b: &Side) -> Result<Comparison, AuditError> {
    let (mut ia, mut ib) = (a.hashes(), b.hashes());
    let mut common = 0u64;
    let mut tree = golive_verify::Frontier::new();
    loop {
        match (ia.next().transpose()?, ib.next().transpose()?) {
            (None, None) => {
                return Ok(Comparison::Identical {
                    head_seq: common,
                    root: tree.root(),
                });
            }
            (Some((seq, _)), None) => {
                return Ok(Comparison::Prefix {
                    shorter: 'B',
                    common,
                    longer_head: last_seq(seq, ia)?,
                });
            }
            (None, Some((seq, _))) => {
                return Ok(Comparison::Prefix {
                    shorter: 'A',
                    common,
                    longer_head: last_seq(seq, ib)?,
                });
            }
            (Some((sa, ha)), Some((sb, hb))) => {
                if sa != sb || ha != hb {
                    return Ok(Comparison::Diverge {
                        seq: common + 1,
                        a: format!("seq {sa} hash {}", to_hex(&ha)),
                        b: format!("seq {sb} hash {}", to_hex(&hb)),
                    });
                }
                common = sa;
                tree.push(golive_verify::record_leaf(&ha));
            }
        }
    }
}

/// The last seq of a record stream whose current record is `seq`.
fn last_seq(seq: u64, rest: HashStream<'_>) -> Result<u64, AuditError> {
    let mut last = seq;
    for r in rest {
        last = r?.0;
    }
    Ok(last)
}
