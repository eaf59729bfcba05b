//! One row of an export through a mapping: the rule that matches, each field made by its spec,
//! the stable event id, and the wire JSON through [`golive_model::decode`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use golive_model::{Envelope, decode, format_time, looks_like_nhs_number};
use serde_json::{Map, Value as Json};

use super::MappingError;
use super::grammar::{As, FieldSpec, Mapping, Rule, Source, Unmatched};
use super::secret::TrustSecret;
use super::transform::{self, TransformError};

/// A mapping ready to read rows: checked against its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedFeed {
    pub mapping: Mapping,
    /// The file the mapping came from (for messages).
    pub mapping_file: String,
    secret: Option<TrustSecret>,
    pseudonymised: Vec<String>,
    columns: Vec<String>,
}

/// What a row's fields may use besides its cells.
#[derive(Debug, Clone, Default)]
pub struct FileContext {
    /// The export's file name, for `{file}` in source refs.
    pub name: String,
    /// The export's modification time, for `file_date = true`.
    pub modified: Option<DateTime<Utc>>,
}

/// A rejected row: the column (or field) at fault and why. Never quotes a pseudonymised cell.
pub type RowError = (String, String);

/// The cells of one row by column name.
pub struct Row<'a> {
    pub index: &'a HashMap<String, usize>,
    pub cells: Vec<&'a str>,
    /// The line the row starts on: also its `collector_seq`.
    pub line: u64,
}

impl Row<'_> {
    fn cell(&self, column: &str) -> &str {
        self.index
            .get(column)
            .and_then(|&i| self.cells.get(i))
            .map_or("", |c| c.trim())
    }
}

impl MappedFeed {
    /// A feed from a parsed mapping; a mapping that uses `pseudonym` needs the secret of its
    /// trust.
    pub fn new(
        mapping: Mapping,
        mapping_file: &str,
        secret: Option<TrustSecret>,
    ) -> Result<Self, MappingError> {
        let (columns, pseudonymised) = mapping.columns();
        let columns: Vec<String> = columns.into_iter().map(str::to_owned).collect();
        let pseudonymised: Vec<String> = pseudonymised.into_iter().map(str::to_owned).collect();
        let refuse = |reason: String| MappingError {
            file: mapping_file.to_owned(),
            line: 1,
            key: "pseudonym".to_owned(),
            reason,
        };
        match &secret {
            None if !pseudonymised.is_empty() => {
                return Err(refuse(format!(
                    "this mapping pseudonymises {}: give the trust's secret with --trust-secret \
                     FILE (make one with `golive trust-secret new {}`)",
                    pseudonymised.join(", "),
                    mapping.trust
                )));
            }
            Some(s) if s.trust != mapping.trust => {
                return Err(refuse(format!(
                    "the trust secret is trust {}'s; this mapping is for {}",
                    s.trust, mapping.trust
                )));
            }
            _ => {}
        }
        Ok(Self {
            mapping,
            mapping_file: mapping_file.to_owned(),
            secret,
            pseudonymised,
            columns,
        })
    }

    /// Every column the mapping reads: the header row must have them all.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    fn is_pseudonymised(&self, column: &str) -> bool {
        self.pseudonymised.iter().any(|c| c == column)
    }

    /// A cell for a message: quoted, unless it is read through `pseudonym`.
    fn shown(&self, column: &str, cell: &str) -> String {
        if self.is_pseudonymised(column) {
            "(not shown)".to_owned()
        } else {
            format!("`{cell}`")
        }
    }

    /// The event of one row; `Ok(None)` for a row no rule matches under `unmatched = "skip"`.
    pub fn envelope(
        &self,
        row: &Row<'_>,
        file: &FileContext,
    ) -> Result<Option<Envelope>, RowError> {
        let Some(rule) = self.rule_of(row)? else {
            return Ok(None);
        };
        let mut columns_of: Vec<(String, String)> = Vec::new();
        let wire = self.wire(rule, row, file, &mut columns_of)?;
        let json = serde_json::to_vec(&wire).expect("a JSON value always serialises");
        decode(&json).map(Some).map_err(|e| {
            let column = columns_of
                .iter()
                .find(|(f, _)| *f == e.field)
                .map(|(_, c)| c.clone());
            match column {
                Some(c) => (c, format!("{}: {}", e.field, e.reason)),
                None => (e.field, e.reason.to_string()),
            }
        })
    }

    fn rule_of(&self, row: &Row<'_>) -> Result<Option<&Rule>, RowError> {
        let found = self.mapping.rules.iter().find(|r| match &r.when {
            None => true,
            Some(w) => w.is.iter().any(|v| v == row.cell(&w.column)),
        });
        match (found, self.mapping.unmatched) {
            (Some(r), _) => Ok(Some(r)),
            (None, Unmatched::Skip) => Ok(None),
            (None, Unmatched::Reject) => {
                let said: Vec<String> = self
                    .mapping
                    .rules
                    .iter()
                    .filter_map(|r| r.when.as_ref())
                    .map(|w| {
                        format!(
                            "{} is {}",
                            w.column,
                            self.shown(&w.column, row.cell(&w.column))
                        )
                    })
                    .collect();
                Err((
                    "(row)".to_owned(),
                    format!("no [[rows]] rule matches this row ({})", said.join(", ")),
                ))
            }
        }
    }

    /// The wire object of a row; `columns_of` gets (wire field, column) for naming errors.
    fn wire(
        &self,
        rule: &Rule,
        row: &Row<'_>,
        file: &FileContext,
        columns_of: &mut Vec<(String, String)>,
    ) -> Result<Json, RowError> {
        let m = &self.mapping;
        let mut data = Map::new();
        for (name, spec) in &rule.data {
            note_column(columns_of, &format!("data.{name}"), spec);
            if let Some(v) = self.value(spec, row, file)? {
                data.insert(name.clone(), v);
            }
        }
        let time = |spec: &FieldSpec, what: &str| -> Result<Json, RowError> {
            let v = self.value(spec, row, file)?;
            let column = column_name(spec).unwrap_or(what).to_owned();
            v.ok_or((column, "the cell is empty".to_owned()))
        };
        note_column(columns_of, "occurred_at", &rule.occurred_at);
        note_column(columns_of, "recorded_at", &m.recorded_at);
        let mut o = Map::new();
        o.insert("event_id".into(), Json::String(self.event_id(rule, row)?));
        o.insert("trust".into(), Json::String(m.trust.clone()));
        if let Some(site) = &m.site {
            o.insert("site".into(), Json::String(site.clone()));
        }
        o.insert("collector".into(), Json::String(m.collector.clone()));
        o.insert("collector_seq".into(), Json::from(row.line));
        o.insert(
            "occurred_at".into(),
            time(&rule.occurred_at, "occurred_at")?,
        );
        o.insert("recorded_at".into(), time(&m.recorded_at, "recorded_at")?);
        o.insert("schema".into(), Json::from(m.schema));
        o.insert("kind".into(), Json::String(rule.kind.as_str().to_owned()));
        o.insert("data".into(), Json::Object(data));
        self.insert_sources(&mut o, file);
        if let Some(s) = rule.status.as_ref().or(m.status.as_ref()) {
            o.insert("status".into(), Json::String(s.clone()));
        }
        Ok(Json::Object(o))
    }

    fn insert_sources(&self, o: &mut Map<String, Json>, file: &FileContext) {
        let sources: Vec<Json> = self
            .mapping
            .sources
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if let Some(Json::String(r)) = s.get_mut("ref") {
                    *r = r.replace("{file}", &file.name);
                }
                s
            })
            .collect();
        if self.mapping.schema == 1 {
            if let Some(first) = sources.into_iter().next() {
                o.insert("source".into(), first);
            }
        } else {
            o.insert("sources".into(), Json::Array(sources));
        }
    }

    /// The row's event id from its key columns (pseudonyms for pseudonymised columns).
    fn event_id(&self, rule: &Rule, row: &Row<'_>) -> Result<String, RowError> {
        let keys = rule
            .key_columns
            .as_ref()
            .unwrap_or(&self.mapping.key_columns);
        let mut values = Vec::with_capacity(keys.len());
        for k in keys {
            let cell = row.cell(k);
            values.push(if self.is_pseudonymised(k) {
                self.pseudonym(k, cell)?
            } else {
                self.guard(k, cell)?;
                cell.to_owned()
            });
        }
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let id = transform::row_event_id(
            &self.mapping.trust,
            &self.mapping.collector,
            rule.kind.as_str(),
            &refs,
        );
        Ok(id.0.hyphenated().to_string())
    }

    /// Refuses a copied cell that is an NHS number: it would leave the trust unpseudonymised.
    fn guard(&self, column: &str, cell: &str) -> Result<(), RowError> {
        if looks_like_nhs_number(cell) {
            return Err((
                column.to_owned(),
                "the cell looks like an NHS number (not shown); read it with pseudonym = \
                 \"COLUMN\", never copy it"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    fn pseudonym(&self, column: &str, cell: &str) -> Result<String, RowError> {
        let secret = self.secret.as_ref().expect("checked in MappedFeed::new");
        let digits = transform::normalise_nhs_number(cell)
            .map_err(|e| (column.to_owned(), e.to_string()))?;
        Ok(transform::pseudonym(
            &secret.key,
            &self.mapping.trust,
            &digits,
        ))
    }

    /// The value of one field; `None` for an empty optional cell.
    fn value(
        &self,
        spec: &FieldSpec,
        row: &Row<'_>,
        file: &FileContext,
    ) -> Result<Option<Json>, RowError> {
        let (column, cell) = match &spec.source {
            Source::Constant(v) => return Ok(Some(v.clone())),
            Source::Pseudonym(c) => {
                return self
                    .pseudonym(c, row.cell(c))
                    .map(|p| Some(Json::String(p)));
            }
            Source::FileDate => {
                let t = file
                    .modified
                    .ok_or(("(file)".to_owned(), "the file's date is unknown".to_owned()))?;
                return Ok(Some(Json::String(format_time(&t))));
            }
            Source::Column(c) => (c.as_str(), row.cell(c)),
        };
        if cell.is_empty() {
            return if spec.optional {
                Ok(None)
            } else {
                Err((column.to_owned(), "the cell is empty".to_owned()))
            };
        }
        let text = match &spec.map {
            None => cell,
            Some(map) => map.get(cell).map(String::as_str).ok_or_else(|| {
                let known: Vec<&str> = map.keys().map(String::as_str).collect();
                (
                    column.to_owned(),
                    format!(
                        "{} is not one of the mapped values: {}",
                        self.shown(column, cell),
                        known.join(", ")
                    ),
                )
            })?,
        };
        convert(&spec.as_, text)
            .map(Some)
            .map_err(|e| (column.to_owned(), self.reason(column, e)))
            .and_then(|v| {
                if matches!(spec.as_, As::Text) {
                    self.guard(column, text)?;
                }
                Ok(v)
            })
    }

    fn reason(&self, column: &str, e: TransformError) -> String {
        if self.is_pseudonymised(column) {
            "the cell is not in the form the mapping gives (not shown: the column holds NHS numbers)".to_owned()
        } else {
            e.to_string()
        }
    }
}

/// A cell's text as the JSON value `as` says.
pub fn convert(as_: &As, text: &str) -> Result<Json, TransformError> {
    Ok(match as_ {
        As::Text => Json::String(text.to_owned()),
        As::Integer => Json::from(transform::parse_count(text)?),
        As::Pence => Json::from(transform::parse_pence(text)?),
        As::Bool => Json::Bool(transform::parse_bool(text)?),
        As::Date(f) => Json::String(
            transform::parse_date(text, f)?
                .format("%Y-%m-%d")
                .to_string(),
        ),
        As::Month(f) => Json::String(transform::parse_month(text, f)?.format("%Y-%m").to_string()),
        As::Time(f, z) => Json::String(format_time(&transform::parse_time(text, f, *z)?)),
    })
}

fn column_name(spec: &FieldSpec) -> Option<&str> {
    match &spec.source {
        Source::Column(c) | Source::Pseudonym(c) => Some(c),
        Source::Constant(_) | Source::FileDate => None,
    }
}

fn note_column(columns_of: &mut Vec<(String, String)>, field: &str, spec: &FieldSpec) {
    if let Some(c) = column_name(spec) {
        columns_of.push((field.to_owned(), c.to_owned()));
    }
}
