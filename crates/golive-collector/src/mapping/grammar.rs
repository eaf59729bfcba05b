//! The mapping file's TOML grammar (docs/FEEDS.md): read with spans, then checked into a
//! [`Mapping`]. Every mistake is a [`MappingError`] naming its line and key.

use std::collections::BTreeMap;

use golive_model::{Kind, OdsCode};
use serde::Deserialize;
use serde_json::Value as Json;
use toml::Spanned;

use super::MappingError;
use super::transform::{TimeFormat, Zone};

/// A checked mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub trust: String,
    pub collector: String,
    pub site: Option<String>,
    pub schema: u64,
    pub status: Option<String>,
    /// Columns whose values identify a row; their values (pseudonyms for pseudonymised columns)
    /// make the event id.
    pub key_columns: Vec<String>,
    /// The events' sources; `{file}` in a `ref` is replaced by the export's file name.
    pub sources: Vec<Json>,
    pub recorded_at: FieldSpec,
    pub unmatched: Unmatched,
    pub delimiter: u8,
    /// Lines starting with this byte are comments (e.g. a sample's `# SYNTHETIC` line).
    pub comment: Option<u8>,
    /// For an Excel workbook: the sheet to read (default: the first).
    pub sheet: Option<String>,
    pub rules: Vec<Rule>,
}

/// Which rows become which kind: the first rule whose `when` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    pub when: Option<When>,
    pub occurred_at: FieldSpec,
    pub status: Option<String>,
    pub key_columns: Option<Vec<String>>,
    /// `data` fields in the order the mapping gives them.
    pub data: Vec<(String, FieldSpec)>,
}

/// `when = { column = "Status", is = ["Lost", "LOST"] }`: the trimmed cell equals one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub column: String,
    pub is: Vec<String>,
}

/// What to do with a row no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmatched {
    Reject,
    Skip,
}

/// How one field is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub source: Source,
    pub as_: As,
    /// Cell text (trimmed) to the text it stands for, applied before `as`.
    pub map: Option<BTreeMap<String, String>>,
    /// An empty cell leaves the field out instead of rejecting the row.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Column(String),
    Constant(Json),
    /// The keyed pseudonym of the NHS number in this column.
    Pseudonym(String),
    /// The export file's modification time.
    FileDate,
}

/// What the text becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum As {
    Text,
    Integer,
    Pence,
    Bool,
    Date(TimeFormat),
    Month(TimeFormat),
    Time(TimeFormat, Zone),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    trust: Spanned<String>,
    collector: Spanned<String>,
    site: Option<String>,
    schema: Option<Spanned<u64>>,
    status: Option<Spanned<String>>,
    key_columns: Spanned<Vec<String>>,
    sources: Option<Spanned<Vec<RawSource>>>,
    recorded_at: Spanned<RawField>,
    unmatched: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    comment: Option<Spanned<String>>,
    sheet: Option<String>,
    rows: Spanned<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(rename = "type")]
    source_type: String,
    #[serde(rename = "ref")]
    reference: String,
    published_at: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    kind: Spanned<String>,
    when: Option<Spanned<RawWhen>>,
    occurred_at: Spanned<RawField>,
    status: Option<Spanned<String>>,
    key_columns: Option<Vec<String>>,
    #[serde(default)]
    data: BTreeMap<String, Spanned<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    column: String,
    is: OneOrMany,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    column: Option<String>,
    constant: Option<toml::Value>,
    pseudonym: Option<String>,
    file_date: Option<bool>,
    #[serde(rename = "as")]
    as_: Option<String>,
    format: Option<String>,
    zone: Option<String>,
    map: Option<BTreeMap<String, String>>,
    #[serde(default)]
    optional: bool,
}

/// Turns byte spans into line numbers and errors of one file.
struct Lines<'a> {
    file: &'a str,
    text: &'a str,
}

impl Lines<'_> {
    fn line(&self, at: usize) -> usize {
        self.text[..at.min(self.text.len())].matches('\n').count() + 1
    }

    fn err(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        reason: impl Into<String>,
    ) -> MappingError {
        MappingError {
            file: self.file.to_owned(),
            line: self.line(span.start),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }
}

impl Mapping {
    /// Parses and checks a mapping; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, MappingError> {
        let lines = Lines { file, text };
        let raw: RawMapping = toml::from_str(text).map_err(|e| toml_error(&lines, &e))?;
        let trust = raw.trust.get_ref();
        if OdsCode::parse(trust).is_none() {
            return Err(lines.err(raw.trust.span(), "trust", "not an ODS code (e.g. RAL)"));
        }
        let schema = raw.schema.as_ref().map_or(2, |s| *s.get_ref());
        if !(1..=2).contains(&schema) {
            let span = raw.schema.as_ref().expect("given").span();
            return Err(lines.err(span, "schema", "the schema is 1 or 2"));
        }
        let sources = sources(&lines, raw.sources, schema)?;
        if raw.key_columns.get_ref().is_empty() {
            return Err(lines.err(
                raw.key_columns.span(),
                "key_columns",
                "name at least one column",
            ));
        }
        let mut rules = Vec::new();
        for (i, r) in raw.rows.get_ref().iter().enumerate() {
            rules.push(rule(&lines, i, r)?);
        }
        if rules.is_empty() {
            return Err(lines.err(raw.rows.span(), "rows", "give at least one [[rows]] rule"));
        }
        Ok(Mapping {
            trust: trust.clone(),
            collector: raw.collector.into_inner(),
            site: raw.site,
            schema,
            status: raw.status.map(Spanned::into_inner),
            key_columns: raw.key_columns.into_inner(),
            sources,
            recorded_at: field(&lines, "recorded_at", &raw.recorded_at)?,
            unmatched: unmatched(&lines, raw.unmatched.as_ref())?,
            delimiter: delimiter(&lines, raw.delimiter.as_ref())?,
            comment: match raw.comment {
                None => None,
                Some(c) if c.get_ref().len() == 1 && c.get_ref().is_ascii() => {
                    Some(c.get_ref().as_bytes()[0])
                }
                Some(c) => {
                    return Err(lines.err(c.span(), "comment", "one ASCII character, e.g. \"#\""));
                }
            },
            sheet: raw.sheet,
            rules,
        })
    }

    /// Every column the mapping reads, and every column read through `pseudonym`.
    pub fn columns(&self) -> (Vec<&str>, Vec<&str>) {
        let mut all: Vec<&str> = self.key_columns.iter().map(String::as_str).collect();
        let mut pseudonymised = Vec::new();
        let mut specs: Vec<&FieldSpec> = vec![&self.recorded_at];
        for r in &self.rules {
            specs.push(&r.occurred_at);
            specs.extend(r.data.iter().map(|(_, f)| f));
        }
        for f in specs {
            match &f.source {
                Source::Column(c) => all.push(c),
                Source::Pseudonym(c) => {
                    all.push(c);
                    pseudonymised.push(c.as_str());
                }
                Source::Constant(_) | Source::FileDate => {}
            }
        }
        for r in &self.rules {
            if let Some(w) = &r.when {
                all.push(&w.column);
            }
            all.extend(r.key_columns.iter().flatten().map(String::as_str));
        }
        all.sort_unstable();
        all.dedup();
        pseudonymised.sort_unstable();
        pseudonymised.dedup();
        (all, pseudonymised)
    }
}

/// A toml error (syntax, unknown or missing key, wrong type): its line, the key in its span.
fn toml_error(lines: &Lines<'_>, e: &toml::de::Error) -> MappingError {
    let span = e.span().unwrap_or(0..0);
    let at = lines.text.get(span.clone()).unwrap_or("");
    let key = at
        .lines()
        .next()
        .unwrap_or("")
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(['[', ']', '{', '}'])
        .trim();
    let key = if key.is_empty() || key.len() > 60 {
        "(file)"
    } else {
        key
    };
    lines.err(span, key, e.message().trim())
}

fn sources(
    lines: &Lines<'_>,
    raw: Option<Spanned<Vec<RawSource>>>,
    schema: u64,
) -> Result<Vec<Json>, MappingError> {
    let Some(raw) = raw else {
        if schema == 2 {
            return Err(lines.err(0..0, "sources", "schema 2 needs sources, e.g. [{ type = \"system\", ref = \"Datix export {file}\" }]"));
        }
        return Ok(Vec::new());
    };
    if raw.get_ref().is_empty() || (schema == 1 && raw.get_ref().len() > 1) {
        return Err(lines.err(raw.span(), "sources", "give 1 to 8 sources (schema 1: one)"));
    }
    Ok(raw
        .into_inner()
        .into_iter()
        .map(|s| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), Json::String(s.source_type));
            o.insert("ref".into(), Json::String(s.reference));
            if let Some(p) = s.published_at {
                o.insert("published_at".into(), Json::String(p));
            }
            if let Some(u) = s.url {
                o.insert("url".into(), Json::String(u));
            }
            Json::Object(o)
        })
        .collect())
}

fn rule(lines: &Lines<'_>, i: usize, raw: &Spanned<RawRule>) -> Result<Rule, MappingError> {
    let r = raw.get_ref();
    let at = |k: &str| format!("rows[{i}].{k}");
    let kind = Kind::parse(r.kind.get_ref()).ok_or_else(|| {
        lines.err(
            r.kind.span(),
            &at("kind"),
            format!("unknown kind; the kinds are {}", Kind::NAMES.trim()),
        )
    })?;
    let when = match &r.when {
        None => None,
        Some(w) => {
            let (column, is) = match &w.get_ref().is {
                OneOrMany::One(s) => (w.get_ref().column.clone(), vec![s.clone()]),
                OneOrMany::Many(v) => (w.get_ref().column.clone(), v.clone()),
            };
            if is.is_empty() {
                return Err(lines.err(w.span(), &at("when.is"), "give at least one value"));
            }
            Some(When { column, is })
        }
    };
    let mut data = Vec::new();
    for (name, spec) in &r.data {
        data.push((
            name.clone(),
            field(lines, &at(&format!("data.{name}")), spec)?,
        ));
    }
    Ok(Rule {
        kind,
        when,
        occurred_at: field(lines, &at("occurred_at"), &r.occurred_at)?,
        status: r.status.as_ref().map(|s| s.get_ref().clone()),
        key_columns: r.key_columns.clone(),
        data,
    })
}

/// One field's spec: exactly one source, a known `as`, a format that parses, a known zone.
fn field(lines: &Lines<'_>, key: &str, raw: &Spanned<RawField>) -> Result<FieldSpec, MappingError> {
    let f = raw.get_ref();
    let bad = |reason: String| lines.err(raw.span(), key, reason);
    let given = [
        f.column.is_some(),
        f.constant.is_some(),
        f.pseudonym.is_some(),
        f.file_date == Some(true),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(bad(
            "give exactly one of column, constant, pseudonym, file_date = true".into(),
        ));
    }
    let source = if let Some(c) = &f.column {
        Source::Column(c.clone())
    } else if let Some(c) = &f.constant {
        Source::Constant(constant(c).map_err(bad)?)
    } else if let Some(c) = &f.pseudonym {
        Source::Pseudonym(c.clone())
    } else {
        Source::FileDate
    };
    let as_ = as_of(f).map_err(bad)?;
    if matches!(source, Source::Pseudonym(_)) && (as_ != As::Text || f.map.is_some()) {
        return Err(bad("a pseudonym takes no `as` or `map`".into()));
    }
    Ok(FieldSpec {
        source,
        as_,
        map: f.map.clone(),
        optional: f.optional,
    })
}

fn as_of(f: &RawField) -> Result<As, String> {
    let format = || -> Result<TimeFormat, String> {
        match f.format.as_deref() {
            None | Some("rfc3339") => Ok(TimeFormat::Rfc3339),
            Some("excel") => Ok(TimeFormat::Excel),
            Some(s) => {
                let ok = chrono::format::StrftimeItems::new(s)
                    .all(|i| !matches!(i, chrono::format::Item::Error));
                if ok {
                    Ok(TimeFormat::Strftime(s.to_owned()))
                } else {
                    Err(format!("`{s}` is not a strftime format"))
                }
            }
        }
    };
    let zone = match f.zone.as_deref() {
        None | Some("Europe/London") => Zone::London,
        Some("UTC") => Zone::Utc,
        Some(z) => {
            return Err(format!(
                "zone `{z}`: use Europe/London (the default) or UTC"
            ));
        }
    };
    let timed = matches!(f.as_.as_deref(), Some("date" | "month" | "time"));
    if !timed && (f.format.is_some() || f.zone.is_some()) {
        return Err("format and zone go with as = \"date\", \"month\" or \"time\"".into());
    }
    Ok(match f.as_.as_deref() {
        None | Some("text") => As::Text,
        Some("integer") => As::Integer,
        Some("pence") => As::Pence,
        Some("bool") => As::Bool,
        Some("date") => As::Date(format()?),
        Some("month") => As::Month(format()?),
        Some("time") => As::Time(format()?, zone),
        Some(other) => {
            return Err(format!(
                "as = `{other}`: use text, integer, pence, bool, date, month or time"
            ));
        }
    })
}

/// A constant as JSON; floats are refused (money and counts are integers).
fn constant(v: &toml::Value) -> Result<Json, String> {
    Ok(match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Float(_) => {
            return Err("a constant is never a float: write whole pence or a count".into());
        }
        toml::Value::Array(a) => Json::Array(a.iter().map(constant).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| constant(v).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn unmatched(lines: &Lines<'_>, raw: Option<&Spanned<String>>) -> Result<Unmatched, MappingError> {
    match raw.map(|s| (s.get_ref().as_str(), s.span())) {
        None | Some(("reject", _)) => Ok(Unmatched::Reject),
        Some(("skip", _)) => Ok(Unmatched::Skip),
        Some((_, span)) => Err(lines.err(
            span,
            "unmatched",
            "use \"reject\" (the default) or \"skip\"",
        )),
    }
}

fn delimiter(lines: &Lines<'_>, raw: Option<&Spanned<String>>) -> Result<u8, MappingError> {
    match raw {
        None => Ok(b','),
        Some(s) if s.get_ref().len() == 1 && s.get_ref().is_ascii() => {
            Ok(s.get_ref().as_bytes()[0])
        }
        Some(s) if s.get_ref() == "\\t" || s.get_ref() == "\t" => Ok(b'\t'),
        Some(s) => Err(lines.err(
            s.span(),
            "delimiter",
            "one ASCII character, e.g. \",\" or \";\"",
        )),
    }
}
