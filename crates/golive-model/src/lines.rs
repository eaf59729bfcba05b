//! JSON Lines framing with a bound: both readers of a feed (the ledger's `ingest` and the
//! collector) take one event per line, and neither may hold an overlong line in memory.
//!
//! This opens nothing: it reads from a reader the caller owns and hands in, so the crate still
//! does no IO of its own.

use std::io::{self, BufRead, Read};

use crate::MESSAGE_BYTES_MAX;

/// Reads one line into `buf`, keeping at most [`MESSAGE_BYTES_MAX`] + 2 bytes of it (the
/// largest event, its newline, and one byte more to tell an overlong line); the rest of an
/// overlong line is consumed and dropped, and `buf` keeps its first [`MESSAGE_BYTES_MAX`]
/// bytes. Returns the bytes the line took in the input (0 at the end) and whether it was
/// overlong.
pub fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<(usize, bool)> {
    let keep = (MESSAGE_BYTES_MAX + 2) as u64;
    let n = reader.by_ref().take(keep).read_until(b'\n', buf)?;
    if n < keep as usize || buf.last() == Some(&b'\n') {
        return Ok((n, false));
    }
    // Overlong: skip to the end of the line without keeping it.
    let mut total = n;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                total += i + 1;
                break;
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
                total += len;
            }
        }
    }
    buf.truncate(MESSAGE_BYTES_MAX);
    Ok((total, true))
}
