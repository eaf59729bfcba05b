//! Baselines for the benchmarks: what plain sled does with the same bytes, measured by the same
//! tool in the same run as the ledger, so that the ledger's figures are ratios, not absolutes.

use std::path::Path;

use golive_store::StoreError;

/// Inserts `values` under big-endian sequence keys into one tree of a fresh sled database in
/// `dir`, flushing after every `batch` inserts: the cheapest durable append sled offers, with no
/// dedupe, no hash chain and no transaction. Returns the bytes sled used on disk.
pub fn raw_sled_append(dir: &Path, values: &[Vec<u8>], batch: usize) -> Result<u64, StoreError> {
    let engine = |source| StoreError::Engine {
        path: dir.to_path_buf(),
        source,
    };
    let db = sled::open(dir).map_err(engine)?;
    let tree = db.open_tree("log").map_err(engine)?;
    for (chunk_no, chunk) in values.chunks(batch.max(1)).enumerate() {
        let base = (chunk_no * batch.max(1)) as u64;
        for (i, v) in chunk.iter().enumerate() {
            tree.insert((base + i as u64 + 1).to_be_bytes(), v.as_slice())
                .map_err(engine)?;
        }
        tree.flush().map_err(engine)?;
    }
    db.size_on_disk().map_err(engine)
}
