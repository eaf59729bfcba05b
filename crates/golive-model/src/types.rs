//! Newtypes for distinct meanings: event ids, ODS codes, collector ids, pseudonymous patient
//! references, money in pence, months. Values built by [`crate::decode`] have been validated.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The UUID a publisher gives an event. The ledger deduplicates by it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub uuid::Uuid);

impl EventId {
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    /// An id as events write it: a UUID in its hyphenated form, any case.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 36)
            .then(|| uuid::Uuid::parse_str(s).ok())
            .flatten()
            .map(Self)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// NHS ODS organisation code of a trust, e.g. `RAL`, `RNJ`, `R1H`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OdsCode(String);

impl OdsCode {
    /// Parses an ODS code: 3 to 5 upper-case ASCII letters or digits, the first a letter.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (3..=5).contains(&s.len())
            && s.as_bytes()[0].is_ascii_uppercase()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fictional code, reserved for simulated data (`ZZ001`, ...): every code starting with
    /// [`FICTIONAL_PREFIX`]. Its events must be synthetic.
    pub fn is_fictional(&self) -> bool {
        self.0.starts_with(FICTIONAL_PREFIX)
    }
}

/// The prefix of the fictional trust codes that simulations use (`golive simulate`: `ZZ001`,
/// `ZZ002`, ..., then `ZY001`, ...). Valid ODS codes in form, and no NHS organisation's: NHS
/// England's ODS codes for trusts start with `R` (and other bodies' with other letters), none
/// with `Z`. The ledger refuses an event under such a code unless it is synthetic, so that a
/// fictional trust's figures are always marked as simulated.
pub const FICTIONAL_PREFIX: &str = "Z";

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Name of a collector (one feed at one trust), e.g. `ral-pas`. Its `collector_seq` increases.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CollectorId(pub String);

impl CollectorId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Pseudonymous patient reference assigned by the trust's collector. Never an NHS number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientRef(pub String);

impl PatientRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PatientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when `s` is 10 digits (spaces or hyphens allowed between them) whose last digit is the
/// NHS number's modulus-11 check digit.
pub fn looks_like_nhs_number(s: &str) -> bool {
    let digits: Vec<u32> = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<u32>>>()
        .unwrap_or_default();
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    let check = 11 - (sum % 11);
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == digits[9]
}

/// Money as a whole number of pence. Never a float. Amounts in events are never negative.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Pence(pub i64);

impl Pence {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Pence {
    /// Pounds with thousands separators, e.g. `£1,234,567.89`; negatives as `-£12.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sign = if v < 0 { "-" } else { "" };
        let abs = v.unsigned_abs();
        let pounds = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in pounds.chars().enumerate() {
            if i > 0 && (pounds.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}£{grouped}.{:02}", abs % 100)
    }
}

/// A calendar month, written `YYYY-MM` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub year: u16,
    pub month: u8,
}

impl Period {
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        let year: u16 = s[..4].parse().ok()?;
        let month: u8 = s[5..].parse().ok()?;
        ((1900..=2200).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The month after this one.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year.saturating_add(1),
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Whole months from `self` to `to` (negative when `to` is earlier).
    pub fn months_to(self, to: Period) -> i64 {
        let index = |p: Period| i64::from(p.year) * 12 + i64::from(p.month) - 1;
        index(to) - index(self)
    }

    /// The first day of the month.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), 1)
            .expect("a Period is a real month")
    }

    /// The last day of the month.
    pub fn last_day(self) -> chrono::NaiveDate {
        self.next().first_day() - chrono::Days::new(1)
    }

    /// Days in the month.
    pub fn days(self) -> u32 {
        use chrono::Datelike;
        self.last_day().day()
    }

    /// The month in which `t` falls.
    pub fn of(t: DateTime<Utc>) -> Self {
        use chrono::Datelike;
        Self {
            year: t.year().clamp(0, u16::MAX as i32) as u16,
            month: t.month() as u8,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Period::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("`{s}` is not a month in the form YYYY-MM"))
        })
    }
}

/// An ISO 8601 week, written `YYYY-Www` on the wire (e.g. `2008-W27`): the week from a Monday,
/// numbered within its ISO year (which can differ from the calendar year at the turn of a year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoWeek {
    pub year: u16,
    pub week: u8,
}

impl IsoWeek {
    /// Parses `YYYY-Www`: a week that exists in that ISO year (1 to 52, or 53 in long years).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 8 || b[4] != b'-' || b[5] != b'W' {
            return None;
        }
        if !b[..4].iter().chain(&b[6..]).all(u8::is_ascii_digit) {
            return None;
        }
        let year: u16 = s[..4].parse().ok()?;
        let week: u8 = s[6..].parse().ok()?;
        let w = Self { year, week };
        ((1900..=2200).contains(&year) && w.monday_opt().is_some()).then_some(w)
    }

    fn monday_opt(self) -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::from_isoywd_opt(
            i32::from(self.year),
            u32::from(self.week),
            chrono::Weekday::Mon,
        )
    }

    /// The Monday the week starts on.
    pub fn monday(self) -> chrono::NaiveDate {
        self.monday_opt()
            .expect("an IsoWeek is built only from a week that exists")
    }

    /// The ISO week of a day.
    pub fn of(d: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        let w = d.iso_week();
        Self {
            year: w.year().clamp(0, i32::from(u16::MAX)) as u16,
            week: w.week() as u8,
        }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoWeek {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        IsoWeek::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not an ISO week in the form YYYY-Www (e.g. 2008-W27)"
            ))
        })
    }
}

/// Formats a time as RFC 3339 in UTC with `Z`, keeping sub-second digits only when present.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Serde helpers for calendar dates, written `YYYY-MM-DD` (a source's publication day, the
/// `as_at` of a to-date figure).
pub(crate) mod day {
    use chrono::NaiveDate;

    use super::*;

    pub fn parse(s: &str) -> Result<NaiveDate, String> {
        let b = s.as_bytes();
        let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
        let d = shaped
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d)));
        d.ok_or_else(|| format!("`{s}` is not a date in the form YYYY-MM-DD"))
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.collect_str(&d.format("%Y-%m-%d")),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            let s = Option::<std::borrow::Cow<str>>::deserialize(d)?;
            s.map(|s| parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// Serde helpers for UTC times: RFC 3339 with `Z` or `+00:00` only.
pub(crate) mod utc {
    use super::*;

    pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
        let t = DateTime::parse_from_rfc3339(s)
            .map_err(|_| format!("`{s}` is not an RFC 3339 time (e.g. 2008-06-15T09:00:00Z)"))?;
        if t.offset().local_minus_utc() != 0 {
            return Err(format!("`{s}` is not UTC: write times with `Z`"));
        }
        Ok(t.with_timezone(&Utc))
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&format_time(t)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let s = Option::<std::borrow::Cow<str>>::deserialize(d)?;
            s.map(|s| parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_number_check_digit_is_recognised() {
        // 943 476 5919 is the NHS's published example of a valid number.
        assert!(looks_like_nhs_number("9434765919"));
        assert!(looks_like_nhs_number("943 476 5919"));
        assert!(!looks_like_nhs_number("9434765918"));
        assert!(!looks_like_nhs_number("P-000123"));
        assert!(!looks_like_nhs_number("12345"));
    }

    #[test]
    fn ods_codes_are_upper_case_alphanumeric_from_a_letter() {
        assert!(OdsCode::parse("RAL").is_some());
        assert!(OdsCode::parse("R1H").is_some());
        assert!(OdsCode::parse("???").is_none());
        assert!(OdsCode::parse("ral").is_none());
        assert!(OdsCode::parse("1AB").is_none());
        assert!(OdsCode::parse("RALXYZ").is_none());
    }

    #[test]
    fn pence_display_groups_pounds() {
        assert_eq!(Pence(720_000_000).to_string(), "£7,200,000.00");
        assert_eq!(Pence(5).to_string(), "£0.05");
        assert_eq!(Pence(-1234).to_string(), "-£12.34");
    }

    #[test]
    fn period_parses_only_real_months() {
        assert_eq!(Period::parse("2008-11").unwrap().to_string(), "2008-11");
        assert!(Period::parse("2008-13").is_none());
        assert!(Period::parse("2008-1").is_none());
        assert!(Period::parse("08-11-01").is_none());
        let p = Period::parse("2008-12").unwrap();
        assert_eq!(p.next().to_string(), "2009-01");
        assert_eq!(p.months_to(Period::parse("2008-06").unwrap()), -6);
        assert_eq!(Period::parse("2008-02").unwrap().days(), 29);
        assert_eq!(p.last_day().to_string(), "2008-12-31");
    }

    #[test]
    fn iso_weeks_parse_only_weeks_that_exist() {
        // Proves the ISO year is used: 2009 has 53 weeks and 2008 52, and 2008-W01 starts on
        // Monday 31 December 2007.
        let w = IsoWeek::parse("2008-W27").unwrap();
        assert_eq!(w.to_string(), "2008-W27");
        assert_eq!(w.monday().to_string(), "2008-06-30");
        assert_eq!(
            IsoWeek::parse("2008-W01").unwrap().monday().to_string(),
            "2007-12-31"
        );
        assert!(IsoWeek::parse("2009-W53").is_some());
        assert!(IsoWeek::parse("2008-W53").is_none());
        assert!(IsoWeek::parse("2008-W00").is_none());
        assert!(IsoWeek::parse("2008-27").is_none());
        assert!(IsoWeek::parse("2008-W+7").is_none());
        assert_eq!(IsoWeek::of(w.monday()), w);
    }

    #[test]
    fn utc_times_only() {
        assert!(utc::parse("2008-06-15T09:00:00Z").is_ok());
        assert!(utc::parse("2008-06-15T09:00:00+00:00").is_ok());
        assert!(utc::parse("2008-06-15T09:00:00+01:00").is_err());
        assert!(utc::parse("15/06/2008").is_err());
    }
}
