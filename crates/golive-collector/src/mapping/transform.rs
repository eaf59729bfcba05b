//! The value transforms of a feed mapping (docs/FEEDS.md, "Transforms"): money in pounds to
//! integer pence, counts, dates and times (strftime formats, Excel serial numbers, UK local time
//! to UTC), booleans, NHS numbers and their keyed pseudonyms, and the stable event id of a row.
//! Pure functions of text: no IO, no clock, and never a float.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use golive_model::EventId;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Why a cell could not be turned into a value. Messages may quote the cell, except
/// [`TransformError::NhsNumber`], which never does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("`{0}` is not an amount in pounds (e.g. £1,234.56)")]
    NotMoney(String),
    #[error("`{0}` has a fraction of a penny; amounts are whole pence and are never rounded")]
    SubPenny(String),
    #[error("`{0}` is negative; an amount that goes down is a correction (docs/EVENTS.md)")]
    NegativeMoney(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
    #[error("`{0}` is not a whole number of 0 or more")]
    NotCount(String),
    #[error("`{cell}` does not match the format `{format}`")]
    BadFormat { cell: String, format: String },
    #[error("`{0}` is not an Excel serial date (days since 1899-12-30, e.g. 39630 or 39630.5)")]
    NotExcelSerial(String),
    #[error(
        "`{0}` never happened in UK local time (the clocks went forward past it); give the time \
         in UTC or as it was shown after the change"
    )]
    NonexistentLocalTime(String),
    #[error("`{0}` is not a yes/no value (yes, no, y, n, true, false, 1, 0)")]
    NotBool(String),
    /// The cell is deliberately not quoted: it may be (almost) a patient's NHS number.
    #[error("not a valid NHS number: {0} (the value is not shown)")]
    NhsNumber(&'static str),
}

/// Largest amount in pence a cell may hold (the model's `PENCE_MAX` is checked by `decode`).
const PENCE_CELL_MAX: i64 = i64::MAX / 1000;

/// An amount in pounds to integer pence, by string parsing: `£1,234.56`, `1234.5`, `£12`,
/// `1,000,000.00`. Commas must group thousands. More than two decimal places are refused unless
/// the extra digits are zeros (`£0.005` is refused; `£0.050` is 5p). Negative amounts, in any
/// notation (`-£5`, `(£5.00)`), are refused.
pub fn parse_pence(cell: &str) -> Result<i64, TransformError> {
    let s = cell.trim();
    let not = || TransformError::NotMoney(cell.to_owned());
    if s.starts_with('-') || s.starts_with('(') || s.starts_with("£-") {
        return Err(TransformError::NegativeMoney(cell.to_owned()));
    }
    let s = s.strip_prefix('£').unwrap_or(s).trim_start();
    let (pounds, fraction) = match s.split_once('.') {
        Some((p, f)) => (p, f),
        None => (s, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && fraction.is_empty()) {
        return Err(not());
    }
    let pounds = parse_grouped(pounds).ok_or_else(not)?;
    let (pence_digits, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(TransformError::SubPenny(cell.to_owned()));
    }
    let pence: i64 = match pence_digits.len() {
        0 => 0,
        1 => i64::from(pence_digits.as_bytes()[0] - b'0') * 10,
        _ => pence_digits.parse().map_err(|_| not())?,
    };
    pounds
        .checked_mul(100)
        .and_then(|p| p.checked_add(pence))
        .filter(|p| *p <= PENCE_CELL_MAX)
        .ok_or_else(|| TransformError::TooLarge(cell.to_owned()))
}

/// Digits with optional thousands commas (`1,234,567`); `None` if malformed or too large.
fn parse_grouped(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let groups: Vec<&str> = s.split(',').collect();
    let first_ok =
        !groups[0].is_empty() && groups[0].len() <= if groups.len() > 1 { 3 } else { 18 };
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    if !first_ok || !rest_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    groups.concat().parse().ok()
}

/// A count: digits with optional thousands commas (`12,500`).
pub fn parse_count(cell: &str) -> Result<u64, TransformError> {
    let s = cell.trim();
    parse_grouped(s)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| TransformError::NotCount(cell.to_owned()))
}

/// How a date or time cell is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    /// A chrono strftime format such as `%d/%m/%Y` or `%d/%m/%Y %H:%M`.
    Strftime(String),
    /// An Excel serial number: days since 1899-12-30, a fraction for the time of day.
    Excel,
    /// RFC 3339 with an offset (`2008-06-15T09:00:00Z`, `2008-06-15T10:00:00+01:00`).
    Rfc3339,
}

/// Where a local date-time without an offset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// UK local time: GMT in winter, BST (UTC+1) in summer, by the Europe/London rules.
    London,
    Utc,
}

/// A date cell.
pub fn parse_date(cell: &str, format: &TimeFormat) -> Result<NaiveDate, TransformError> {
    let s = cell.trim();
    match format {
        TimeFormat::Excel => excel_serial(s).map(|t| t.date()),
        TimeFormat::Rfc3339 => DateTime::parse_from_rfc3339(s)
            .map(|t| t.date_naive())
            .map_err(|_| bad_format(cell, "RFC 3339")),
        TimeFormat::Strftime(f) => NaiveDate::parse_from_str(s, f).map_err(|_| bad_format(cell, f)),
    }
}

/// A month cell (`11/2008` with `%m/%Y`, `Nov-08` with `%b-%y`, or a date in the month).
pub fn parse_month(cell: &str, format: &TimeFormat) -> Result<NaiveDate, TransformError> {
    let s = cell.trim();
    if let TimeFormat::Strftime(f) = format
        && !f.contains("%d")
        && !f.contains("%e")
    {
        return NaiveDate::parse_from_str(&format!("01 {s}"), &format!("%d {f}"))
            .map_err(|_| bad_format(cell, f));
    }
    parse_date(s, format).map(|d| d.with_day(1).expect("day 1 exists"))
}

/// A date-time cell, converted to UTC. Local times in [`Zone::London`] follow the
/// daylight-saving rule; see [`london_to_utc`]. A cell without a time of day (a date, a month,
/// a whole Excel serial) is midnight UTC of its date: a date is a date, not an instant of local
/// time, and the project dates its dated facts `T00:00:00Z`.
pub fn parse_time(
    cell: &str,
    format: &TimeFormat,
    zone: Zone,
) -> Result<DateTime<Utc>, TransformError> {
    let s = cell.trim();
    let local = match format {
        TimeFormat::Rfc3339 => {
            return DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad_format(cell, "RFC 3339"));
        }
        TimeFormat::Excel if !s.contains('.') => return Ok(excel_serial(s)?.and_utc()),
        TimeFormat::Excel => excel_serial(s)?,
        TimeFormat::Strftime(f) => match NaiveDateTime::parse_from_str(s, f) {
            Ok(t) => t,
            // A date without a time of day is that date's midnight UTC, whatever the zone.
            Err(_) => {
                return Ok(parse_month_or_date(s, format)?
                    .and_time(NaiveTime::MIN)
                    .and_utc());
            }
        },
    };
    match zone {
        Zone::Utc => Ok(local.and_utc()),
        Zone::London => london_to_utc(local)
            .ok_or_else(|| TransformError::NonexistentLocalTime(cell.to_owned())),
    }
}

/// A date, or the first of a month for a format without a day.
fn parse_month_or_date(s: &str, format: &TimeFormat) -> Result<NaiveDate, TransformError> {
    match format {
        TimeFormat::Strftime(f) if !f.contains("%d") && !f.contains("%e") => parse_month(s, format),
        _ => parse_date(s, format),
    }
}

/// UK local time to UTC. A time that occurs twice (the hour after 01:00 on the last Sunday of
/// October, when the clocks go back) is taken as the **earlier** instant, the one still in BST;
/// a time that never occurs (the hour after 01:00 on the last Sunday of March) is `None`.
pub fn london_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    London
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// An Excel serial date-time (the 1900 date system, with Lotus's phantom 29 February 1900:
/// serial 61 is 1 March 1900). The fraction is the time of day, rounded to the nearest second
/// by integer arithmetic.
pub fn excel_serial(cell: &str) -> Result<NaiveDateTime, TransformError> {
    let not = || TransformError::NotExcelSerial(cell.to_owned());
    let (days, fraction) = cell.trim().split_once('.').unwrap_or((cell.trim(), ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dot_alone = cell.trim().ends_with('.');
    if !digits(days)
        || dot_alone
        || !(fraction.is_empty() || digits(fraction))
        || fraction.len() > 12
    {
        return Err(not());
    }
    let days: i64 = days.parse().map_err(|_| not())?;
    if days == 0 || days == 60 || days > 2_958_465 {
        return Err(not()); // 0 January 1900, the phantom 29 February 1900, after 9999-12-31
    }
    let base = if days < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)
    }
    .expect("a valid date");
    let seconds: i64 = if fraction.is_empty() {
        0
    } else {
        let scale = 10u128.pow(fraction.len() as u32);
        let numerator: u128 = fraction.parse().map_err(|_| not())?;
        ((numerator * 86_400 * 2 + scale) / (scale * 2)) as i64
    };
    Ok(base.and_time(NaiveTime::MIN) + Duration::days(days) + Duration::seconds(seconds))
}

/// `yes`, `y`, `true`, `1` and `no`, `n`, `false`, `0`, in any case.
pub fn parse_bool(cell: &str) -> Result<bool, TransformError> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(TransformError::NotBool(cell.to_owned())),
    }
}

/// An NHS number as 10 digits: spaces and dashes removed, the modulus-11 check digit verified.
pub fn normalise_nhs_number(cell: &str) -> Result<[u8; 10], TransformError> {
    let mut digits = [0u8; 10];
    let mut n = 0;
    for c in cell.trim().chars() {
        match c {
            ' ' | '-' => {}
            '0'..='9' if n < 10 => {
                digits[n] = c as u8 - b'0';
                n += 1;
            }
            '0'..='9' => return Err(TransformError::NhsNumber("more than 10 digits")),
            _ => return Err(TransformError::NhsNumber("not digits")),
        }
    }
    if n != 10 {
        return Err(TransformError::NhsNumber("fewer than 10 digits"));
    }
    let sum: u32 = (0..9).map(|i| u32::from(digits[i]) * (10 - i as u32)).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        c => c,
    };
    if check == 10 || check != u32::from(digits[9]) {
        return Err(TransformError::NhsNumber("its check digit is wrong"));
    }
    Ok(digits)
}

/// Bytes of a trust secret key (`golive trust-secret new`).
pub const TRUST_KEY_BYTES: usize = 32;

/// Hex digits of the HMAC kept in a pseudonym: 64 bits, so that a trust's million patients
/// collide with a chance of about 1 in 30 million.
pub const PSEUDONYM_HEX_DIGITS: usize = 16;

/// The keyed pseudonym of a normalised NHS number: `<TRUST>-P-` and the first
/// [`PSEUDONYM_HEX_DIGITS`] hex digits of HMAC-SHA-256(key, the 10 digits as ASCII). The same
/// number always gives the same reference under the same key; without the key it cannot be
/// reversed (an unkeyed hash of a 10-digit number could be, by trying them all).
pub fn pseudonym(key: &[u8; TRUST_KEY_BYTES], trust: &str, nhs_digits: &[u8; 10]) -> String {
    let ascii: Vec<u8> = nhs_digits.iter().map(|d| b'0' + d).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&ascii);
    let tag = mac.finalize().into_bytes();
    format!(
        "{trust}-P-{}",
        &hex::encode(&tag[..PSEUDONYM_HEX_DIGITS / 2])
    )
}

/// The event id of a mapped row: a version-8 UUID from the first 16 bytes of SHA-256 over the
/// trust, collector, kind and the row's key values, each followed by a NUL. The same row of a
/// re-exported file gets the same id, so the ledger appends it once.
pub fn row_event_id(trust: &str, collector: &str, kind: &str, key_values: &[&str]) -> EventId {
    let mut h = Sha256::new();
    h.update(b"golive-feed-v1\0");
    for part in [trust, collector, kind].iter().chain(key_values) {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

fn bad_format(cell: &str, format: &str) -> TransformError {
    TransformError::BadFormat {
        cell: cell.to_owned(),
        format: format.to_owned(),
    }
}

#[cfg(test)]
mod tests;
