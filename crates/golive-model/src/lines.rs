//! JSON Lines framing with a bound: both readers of a feed (the ledger's `ingest` and the
//! collector) take one event per line, and neither may hold an overlong line in memory.
//!
//! This opens nothing: it reads from a reader the caller owns and hands in, so the crate still
//! does no IO of its own.

use std::io::{self, BufRead, Read};

use crate::{DecodeError, Envelope, MESSAGE_BYTES_MAX, Reason, decode};

/// Reads one line into `buf`, without its line end (trailing `\n` and `\r`), keeping at most
/// [`MESSAGE_BYTES_MAX`] + 2 bytes of it (the largest event, its newline, and one byte more to
/// tell an overlong line); the rest of an overlong line is consumed and dropped, and `buf`
/// keeps its first [`MESSAGE_BYTES_MAX`] bytes. Returns the bytes the line took in the input (0
/// at the end) and whether it was overlong.
pub fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<(usize, bool)> {
    let (n, overlong) = read_line_capped(reader, buf)?;
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok((n, overlong))
}

/// The envelope of a line that [`read_line_bounded`] read (`len` bytes in the input): an
/// overlong one is refused as too large, without decoding the part of it that was kept.
pub fn decode_line(line: &[u8], len: usize, overlong: bool) -> Result<Envelope, DecodeError> {
    if overlong {
        return Err(DecodeError::new(
            "(message)",
            Reason::MessageTooLarge {
                len,
                max: MESSAGE_BYTES_MAX,
            },
        ));
    }
    decode(line)
}

/// [`read_line_bounded`], line end included.
fn read_line_capped<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_line_is_cut_skipped_and_refused_and_the_next_line_is_read_whole() {
        // Proves the bound: a line over MESSAGE_BYTES_MAX + 1 bytes keeps only its first
        // MESSAGE_BYTES_MAX bytes, the rest of it is skipped (not read into the next line), it
        // decodes to MessageTooLarge with its full length, and line ends (LF, CRLF) are removed.
        let long = "x".repeat(MESSAGE_BYTES_MAX + 10);
        let input = format!("ab\r\n{long}\ncd\n\nef");
        let mut reader = std::io::BufReader::with_capacity(64, input.as_bytes());
        let mut buf = Vec::new();
        let mut next = || {
            buf.clear();
            let (n, overlong) = read_line_bounded(&mut reader, &mut buf).unwrap();
            (n, overlong, buf.clone())
        };
        assert_eq!(next(), (4, false, b"ab".to_vec()));
        let (n, overlong, kept) = next();
        assert_eq!(
            (n, overlong, kept.len()),
            (long.len() + 1, true, MESSAGE_BYTES_MAX)
        );
        let refused = decode_line(&kept, n, overlong).unwrap_err();
        assert_eq!(
            refused.reason,
            Reason::MessageTooLarge {
                len: n,
                max: MESSAGE_BYTES_MAX
            }
        );
        assert_eq!(next(), (3, false, b"cd".to_vec()));
        assert_eq!(next(), (1, false, Vec::new()));
        assert_eq!(next(), (2, false, b"ef".to_vec()));
        assert_eq!(next(), (0, false, Vec::new()));
    }
}
