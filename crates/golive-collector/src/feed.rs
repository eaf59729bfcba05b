//! Feed readers: JSONL and CSV bytes -> validated events or local rejections. No network, no
//! outbox: every reader takes an `io::Read` and hands each record to a callback, so the same code
//! serves files, stdin and the watched directory, and the tests need no disk.
//!
//! Every record is validated by [`golive_model::decode`], the same function the ledger uses, so a
//! record the collector accepts is one the ledger accepts (schema rules of the day being equal).
//! What is published is the envelope's canonical bytes, not the input text.

use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;
use std::path::Path;

use golive_model::{
    Envelope, EventId, MESSAGE_BYTES_MAX, Reason, decode, decode_line, read_line_bounded,
};
use serde::Serialize;
use serde_json::value::RawValue;

/// One event that passed local validation, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent {
    pub event_id: EventId,
    /// `golive.events.<TRUST>.<kind>`.
    pub subject: String,
    /// [`Envelope::canonical_bytes`]: what is published and what the ledger hashes.
    pub canonical: Vec<u8>,
    /// Line of the input the event came from (for CSV, the line its row starts on).
    pub line: u64,
}

impl ValidEvent {
    pub fn from_envelope(envelope: &Envelope, line: u64) -> Self {
        Self {
            event_id: envelope.event_id,
            subject: envelope.subject(),
            canonical: envelope.canonical_bytes(),
            line,
        }
    }
}

/// A record refused before it could be sent: where it was, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRejection {
    /// A file path or `stdin`.
    pub source: String,
    pub line: u64,
    /// Dotted field path such as `data.amount_pence`, `(message)` for the whole record, or a
    /// CSV column name.
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for LocalRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.source, self.line, self.field, self.reason
        )
    }
}

/// What a reader hands to its caller, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedRecord {
    Event(ValidEvent),
    Rejected(LocalRejection),
}

/// Counts of one read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounts {
    /// Records seen (JSONL: non-blank lines; CSV: data rows), valid or not.
    pub records: u64,
    pub events: u64,
    pub rejected: u64,
    /// Blank JSONL lines, skipped.
    pub blank: u64,
    /// Mapped rows that no rule matched under `unmatched = "skip"` (docs/FEEDS.md).
    pub skipped: u64,
}

/// The two input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Jsonl,
    Csv,
}

impl FeedFormat {
    /// `.csv` is CSV; `.jsonl`, `.ndjson` and anything else is JSONL.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => FeedFormat::Csv,
            _ => FeedFormat::Jsonl,
        }
    }

    /// Guesses the format of a stream from its first bytes: JSONL starts with `{` (after
    /// whitespace or a byte-order mark); anything else is taken for a CSV header.
    pub fn sniff(head: &[u8]) -> Self {
        let head = head.strip_prefix(UTF8_BOM).unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => FeedFormat::Jsonl,
            Some(_) => FeedFormat::Csv,
        }
    }
}

pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `reader` in `format`, calling `emit` for each record; `emit` returns `Break` to stop.
pub fn read_feed<R: BufRead>(
    format: FeedFormat,
    reader: R,
    source: &str,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<FeedCounts> {
    match format {
        FeedFormat::Jsonl => read_jsonl(reader, source, emit),
        FeedFormat::Csv => read_csv(reader, source, emit),
    }
}

/// Reads JSON Lines: one event per line, blank lines skipped. A line longer than
/// [`MESSAGE_BYTES_MAX`] is rejected without being held in memory.
pub fn read_jsonl<R: BufRead>(
    mut reader: R,
    source: &str,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<FeedCounts> {
    let mut counts = FeedCounts::default();
    let mut buf = Vec::with_capacity(1024);
    let mut line: u64 = 0;
    loop {
        buf.clear();
        let (n, overlong) = read_line_bounded(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = if line == 1 {
            buf.strip_prefix(UTF8_BOM).unwrap_or(&buf)
        } else {
            &buf[..]
        };
        if !overlong && text.iter().all(u8::is_ascii_whitespace) {
            counts.blank += 1;
            continue;
        }
        counts.records += 1;
        let decoded = decode_line(text, n, overlong);
        let record = match decoded {
            Ok(envelope) => {
                counts.events += 1;
                FeedRecord::Event(ValidEvent::from_envelope(&envelope, line))
            }
            Err(e) => {
                counts.rejected += 1;
                FeedRecord::Rejected(rejection(source, line, e.field, e.reason.to_string()))
            }
        };
        if emit(record).is_break() {
            break;
        }
    }
    Ok(counts)
}

/// The CSV columns, in the order the documentation lists them. Any order is accepted.
pub const CSV_COLUMNS: [&str; 14] = [
    "event_id",
    "trust",
    "site",
    "collector",
    "collector_seq",
    "occurred_at",
    "recorded_at",
    "schema",
    "kind",
    "status",
    "source_type",
    "source_ref",
    "supersedes",
    "data",
];

/// Columns a CSV header must have (the envelope's required fields).
pub const CSV_COLUMNS_REQUIRED: [&str; 9] = [
    "event_id",
    "trust",
    "collector",
    "collector_seq",
    "occurred_at",
    "recorded_at",
    "schema",
    "kind",
    "data",
];

/// Reads CSV with a header row (see the crate's README for the format). Each row becomes the
/// wire JSON object and goes through [`decode`]. A bad header rejects the whole input at line 1
/// and no row is read.
pub fn read_csv<R: Read>(
    reader: R,
    source: &str,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<FeedCounts> {
    let mut counts = FeedCounts::default();
    let mut rdr = csv_reader(b',', None, reader);
    let Some(columns) = csv_header(&mut rdr, source, &mut counts, emit)? else {
        return Ok(counts);
    };
    let mut row = csv::ByteRecord::new();
    loop {
        let record = match rdr.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => csv_row(&columns, &row, source, &mut counts),
            Err(e) => match unequal_row(&e, source, &mut counts) {
                Some(rejected) => rejected,
                None => {
                    csv_fatal(e, source, &mut counts, emit)?;
                    break;
                }
            },
        };
        if emit(record).is_break() {
            break;
        }
    }
    Ok(counts)
}

/// A CSV reader with a header row whose rows must all have its length (a short or long row is
/// rejected on its own), header cells trimmed.
pub(crate) fn csv_reader<R: Read>(delimiter: u8, comment: Option<u8>, reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(delimiter)
        .comment(comment)
        .trim(csv::Trim::Headers)
        .from_reader(reader)
}

/// The columns the header row names; `None` when no row is to be read: the input is empty, or
/// its header is bad (then rejected at line 1).
fn csv_header<R: Read>(
    rdr: &mut csv::Reader<R>,
    source: &str,
    counts: &mut FeedCounts,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<Option<CsvColumns>> {
    let columns = match rdr.byte_headers() {
        Ok(h) => match CsvColumns::parse(h) {
            Ok(c) => c,
            Err((field, reason)) => {
                counts.rejected += 1;
                let _ = emit(FeedRecord::Rejected(rejection(source, 1, field, reason)));
                return Ok(None);
            }
        },
        Err(e) => return csv_fatal(e, source, counts, emit).map(|()| None),
    };
    // An empty input has no header and no rows: nothing to do.
    Ok((!columns.index.iter().all(Option::is_none)).then_some(columns))
}

/// One data row: the event it decodes to, or why it is rejected.
fn csv_row(
    columns: &CsvColumns,
    row: &csv::ByteRecord,
    source: &str,
    counts: &mut FeedCounts,
) -> FeedRecord {
    counts.records += 1;
    let line = row.position().map_or(0, csv::Position::line);
    match columns.to_event(row) {
        Ok(event) => {
            counts.events += 1;
            FeedRecord::Event(ValidEvent::from_envelope(&event, line))
        }
        Err((field, reason)) => {
            counts.rejected += 1;
            FeedRecord::Rejected(rejection(source, line, field, reason))
        }
    }
}

/// A row with more or fewer cells than the header has columns is rejected on its own; `None`
/// for any other error.
pub(crate) fn unequal_row(
    e: &csv::Error,
    source: &str,
    counts: &mut FeedCounts,
) -> Option<FeedRecord> {
    let csv::ErrorKind::UnequalLengths {
        pos,
        expected_len,
        len,
    } = e.kind()
    else {
        return None;
    };
    counts.records += 1;
    counts.rejected += 1;
    let line = pos.as_ref().map_or(0, csv::Position::line);
    let reason = format!("row has {len} cells; the header has {expected_len} columns");
    Some(FeedRecord::Rejected(rejection(
        source, line, "(row)", reason,
    )))
}

/// A CSV error other than a short or long row: IO errors are returned; anything else (which the
/// byte-record reader does not produce today) rejects the rest of the input.
fn csv_fatal(
    e: csv::Error,
    source: &str,
    counts: &mut FeedCounts,
    emit: &mut dyn FnMut(FeedRecord) -> ControlFlow<()>,
) -> io::Result<()> {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Err(io),
        other => {
            counts.rejected += 1;
            let reason = format!("unreadable CSV, the rest of the input is skipped: {other:?}");
            let _ = emit(FeedRecord::Rejected(rejection(
                source, line, "(row)", reason,
            )));
            Ok(())
        }
    }
}

/// Where each known column is in the header.
struct CsvColumns {
    index: [Option<usize>; CSV_COLUMNS.len()],
}

/// The wire object built from one row; field names and order follow the JSON envelope.
#[derive(Serialize)]
struct CsvWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collector: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collector_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    occurred_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    /// Kept as the cell's own JSON text, so `decode` sees duplicate keys and every other fault
    /// exactly as it would in a JSONL line.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<CsvSource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supersedes: Option<&'a str>,
}

#[derive(Serialize)]
struct CsvSource<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    source_type: Option<&'a str>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

type FieldReason = (String, String);

impl CsvColumns {
    fn parse(header: &csv::ByteRecord) -> Result<Self, FieldReason> {
        let mut index = [None; CSV_COLUMNS.len()];
        let blank_header = header.len() == 1 && header.get(0).is_some_and(<[u8]>::is_empty);
        if header.is_empty() || blank_header {
            return Ok(Self { index });
        }
        for (i, raw) in header.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(UTF8_BOM).unwrap_or(raw)
            } else {
                raw
            };
            let name = String::from_utf8_lossy(raw);
            let Some(k) = CSV_COLUMNS.iter().position(|c| *c == name) else {
                return Err((
                    name.into_owned(),
                    format!(
                        "unknown column in the header row; the columns are {}",
                        CSV_COLUMNS.join(", ")
                    ),
                ));
            };
            if index[k].is_some() {
                return Err((
                    name.into_owned(),
                    "column appears twice in the header row".to_owned(),
                ));
            }
            index[k] = Some(i);
        }
        let missing: Vec<&str> = CSV_COLUMNS_REQUIRED
            .iter()
            .copied()
            .filter(|c| index[column(c)].is_none())
            .collect();
        if !missing.is_empty() {
            return Err((
                "(header)".to_owned(),
                format!("header row lacks required columns: {}", missing.join(", ")),
            ));
        }
        Ok(Self { index })
    }

    /// The cell of `name` in `row`: `None` when the column is absent or the cell empty.
    fn cell<'r>(
        &self,
        row: &'r csv::ByteRecord,
        name: &str,
    ) -> Result<Option<&'r str>, FieldReason> {
        let Some(i) = self.index[column(name)] else {
            return Ok(None);
        };
        let raw = row.get(i).unwrap_or_default();
        if raw.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(raw)
            .map(Some)
            .map_err(|_| (name.to_owned(), Reason::NotUtf8.to_string()))
    }

    fn number(&self, row: &csv::ByteRecord, name: &str) -> Result<Option<u64>, FieldReason> {
        self.cell(row, name)?
            .map(|s| {
                s.parse::<u64>().map_err(|_| {
                    (
                        name.to_owned(),
                        format!("`{s}` is not a whole number of 0 or more"),
                    )
                })
            })
            .transpose()
    }

    fn to_event(&self, row: &csv::ByteRecord) -> Result<Envelope, FieldReason> {
        if row.as_slice().len() > MESSAGE_BYTES_MAX {
            let reason = Reason::MessageTooLarge {
                len: row.as_slice().len(),
                max: MESSAGE_BYTES_MAX,
            };
            return Err(("(row)".to_owned(), reason.to_string()));
        }
        let data_text = self.cell(row, "data")?;
        let data = data_text
            .map(|t| {
                serde_json::from_str::<&RawValue>(t).map_err(|e| {
                    (
                        "data".to_owned(),
                        format!("cell is not JSON (write the kind's data as a JSON object): {e}"),
                    )
                })
            })
            .transpose()?;
        let source_type = self.cell(row, "source_type")?;
        let reference = self.cell(row, "source_ref")?;
        let wire = CsvWire {
            event_id: self.cell(row, "event_id")?,
            trust: self.cell(row, "trust")?,
            site: self.cell(row, "site")?,
            collector: self.cell(row, "collector")?,
            collector_seq: self.number(row, "collector_seq")?,
            occurred_at: self.cell(row, "occurred_at")?,
            recorded_at: self.cell(row, "recorded_at")?,
            schema: self.number(row, "schema")?,
            kind: self.cell(row, "kind")?,
            data,
            source: (source_type.is_some() || reference.is_some()).then_some(CsvSource {
                source_type,
                reference,
            }),
            status: self.cell(row, "status")?,
            supersedes: self.cell(row, "supersedes")?,
        };
        // Serialising borrowed strings, integers and already-parsed JSON cannot fail.
        let json = serde_json::to_vec(&wire).expect("a CSV row always serialises");
        decode(&json).map_err(|e| (csv_field(&e.field), e.reason.to_string()))
    }
}

fn column(name: &str) -> usize {
    CSV_COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("a known CSV column")
}

/// Names a decode error's field by its CSV column where the two differ.
fn csv_field(field: &str) -> String {
    match field {
        "source.type" => "source_type".to_owned(),
        "source.ref" => "source_ref".to_owned(),
        other => other.to_owned(),
    }
}

pub(crate) fn rejection(
    source: &str,
    line: u64,
    field: impl Into<String>,
    reason: impl Into<String>,
) -> LocalRejection {
    LocalRejection {
        source: source.to_owned(),
        line,
        field: field.into(),
        reason: reason.into(),
    }
}
