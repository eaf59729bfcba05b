//! A trust's CSV export read through a mapping: the header row names the columns, every mapped
//! column must be there, and each data row becomes an event or a rejection (a bad row never
//! stops the file).

use std::collections::HashMap;
use std::io::{self, Read};
use std::ops::ControlFlow;

use golive_model::{MESSAGE_BYTES_MAX, Reason};

use super::apply::{FileContext, MappedFeed, Row};
use crate::feed::{
    FeedCounts, FeedRecord, UTF8_BOM, ValidEvent, csv_reader, rejection, unequal_row,
};

/// Reads an export through `feed`: an Excel workbook (`.xlsx`, by the file's name) as the CSV of
/// its sheet (the mapping's `sheet`, else the first; [`super::xlsx`]), anything else as CSV.
/// A workbook that cannot be read is one rejection of the file, at row 1.
pub fn read_mapped<R: Read>(
    reader: R,
    source: &str,
    feed: &MappedFeed,
    file: &FileContext,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<FeedCounts> {
    if !super::xlsx::is_xlsx(&file.name) {
        return read_mapped_csv(reader, source, feed, file, emit);
    }
    let sheet = feed.mapping.sheet.as_deref();
    match super::xlsx::sheet_as_csv(reader, sheet, feed.mapping.delimiter) {
        Ok(csv) => read_mapped_csv(io::Cursor::new(csv), source, feed, file, emit),
        Err(reason) => {
            let _ = emit(FeedRecord::Rejected(rejection(source, 1, "(file)", reason)));
            Ok(FeedCounts {
                rejected: 1,
                ..FeedCounts::default()
            })
        }
    }
}

/// Reads a CSV export through `feed`, calling `emit` for each event or rejection; rows that no
/// rule matches under `unmatched = "skip"` are counted in `skipped` and not emitted.
pub fn read_mapped_csv<R: Read>(
    reader: R,
    source: &str,
    feed: &MappedFeed,
    file: &FileContext,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<FeedCounts> {
    let mut counts = FeedCounts::default();
    let mut rdr = csv_reader(feed.mapping.delimiter, feed.mapping.comment, reader);
    let index = match header(&mut rdr, feed) {
        Ok(index) => index,
        Err(HeaderError::Io(e)) => return Err(e),
        Err(HeaderError::Rejected(field, reason)) => {
            counts.rejected += 1;
            let _ = emit(FeedRecord::Rejected(rejection(source, 1, field, reason)));
            return Ok(counts);
        }
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let item = match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => row(feed, &index, &record, source, file, &mut counts),
            Err(e) => match unequal_row(&e, source, &mut counts) {
                Some(rejected) => Some(rejected),
                None => {
                    let line = e.position().map_or(0, csv::Position::line);
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        return Err(io::Error::other(e.to_string()));
                    }
                    counts.rejected += 1;
                    let reason = "unreadable CSV, the rest of the file is skipped";
                    let _ = emit(FeedRecord::Rejected(rejection(
                        source, line, "(row)", reason,
                    )));
                    break;
                }
            },
        };
        if let Some(item) = item
            && emit(item).is_break()
        {
            break;
        }
    }
    Ok(counts)
}

enum HeaderError {
    Io(io::Error),
    Rejected(String, String),
}

/// Column name to index; every column the mapping reads must be in the header.
fn header<R: Read>(
    rdr: &mut csv::Reader<R>,
    feed: &MappedFeed,
) -> Result<HashMap<String, usize>, HeaderError> {
    let h = rdr.byte_headers().map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => HeaderError::Io(io),
        other => HeaderError::Rejected(
            "(header)".into(),
            format!("unreadable CSV header: {other:?}"),
        ),
    })?;
    let mut index = HashMap::new();
    for (i, raw) in h.iter().enumerate() {
        let raw = if i == 0 {
            raw.strip_prefix(UTF8_BOM).unwrap_or(raw)
        } else {
            raw
        };
        index
            .entry(String::from_utf8_lossy(raw).into_owned())
            .or_insert(i);
    }
    let missing: Vec<&str> = feed
        .columns()
        .iter()
        .filter(|c| !index.contains_key(c.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(HeaderError::Rejected(
            "(header)".into(),
            format!(
                "the header row lacks columns the mapping {} reads: {}",
                feed.mapping_file,
                missing.join(", ")
            ),
        ));
    }
    Ok(index)
}

fn row(
    feed: &MappedFeed,
    index: &HashMap<String, usize>,
    record: &csv::ByteRecord,
    source: &str,
    file: &FileContext,
    counts: &mut FeedCounts,
) -> Option<FeedRecord> {
    counts.records += 1;
    let line = record.position().map_or(0, csv::Position::line);
    let mut reject = |field: String, reason: String| {
        counts.rejected += 1;
        Some(FeedRecord::Rejected(rejection(source, line, field, reason)))
    };
    if record.as_slice().len() > MESSAGE_BYTES_MAX {
        let reason = Reason::MessageTooLarge {
            len: record.as_slice().len(),
            max: MESSAGE_BYTES_MAX,
        };
        return reject("(row)".into(), reason.to_string());
    }
    let mut cells = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        match std::str::from_utf8(raw) {
            Ok(c) => cells.push(c),
            Err(_) => {
                let column = index
                    .iter()
                    .find(|(_, j)| **j == i)
                    .map_or("(row)", |(c, _)| c);
                return reject(column.to_owned(), Reason::NotUtf8.to_string());
            }
        }
    }
    let r = Row { index, cells, line };
    match feed.envelope(&r, file) {
        Ok(Some(envelope)) => {
            counts.events += 1;
            Some(FeedRecord::Event(ValidEvent::from_envelope(
                &envelope, line,
            )))
        }
        Ok(None) => {
            counts.skipped += 1;
            None
        }
        Err((field, reason)) => reject(field, reason),
    }
}
