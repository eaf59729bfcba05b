//! Errors of decoding and validation. Every error names the field (a dotted path such as
//! `data.amount_pence`, or `(message)` for the whole message) and a typed reason.

/// Why a message was rejected. Each variant is a fact about the input, never about IO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("message is not valid JSON: {0}")]
    Syntax(String),
    #[error("message is not valid UTF-8")]
    NotUtf8,
    #[error("message is {len} bytes; the limit is {max}")]
    MessageTooLarge { len: usize, max: usize },
    #[error("required field is missing")]
    Missing,
    #[error("unknown field (the schema does not allow extra fields)")]
    UnknownField,
    #[error("field appears twice")]
    DuplicateField,
    #[error("{0}")]
    Malformed(String),
    #[error("unknown kind `{0}`; expected one of {1}")]
    UnknownKind(String, &'static str),
    #[error("unsupported schema version {0}; this ledger reads schemas 1 and 2")]
    UnsupportedSchema(u64),
    #[error("`{0}` is not a date in the form YYYY-MM-DD")]
    BadDate(String),
    #[error("this field needs schema 2 (the event says schema 1)")]
    NeedsSchema2,
    #[error("source type `{0}` needs schema 2 (schema 1 knows {1})")]
    SourceTypeNeedsSchema2(String, &'static str),
    #[error("an event cannot relate to itself")]
    RelatesToItself,
    #[error("not a URL: write it with http:// or https://")]
    BadUrl,
    #[error("`{0}` appears twice")]
    DuplicateItem(String),
    #[error(
        "`{0}` is not an ODS code (3 to 5 upper-case letters or digits, starting with a letter)"
    )]
    BadOdsCode(String),
    #[error("`{0}` is not a UUID")]
    BadUuid(String),
    #[error("`{0}` is not an RFC 3339 time")]
    BadTime(String),
    #[error("`{0}` is not UTC: write times with `Z` (or +00:00)")]
    NotUtc(String),
    #[error("`{0}` is not a month in the form YYYY-MM")]
    BadPeriod(String),
    #[error("amount must not be negative (got {0} pence)")]
    NegativePence(i64),
    #[error("amount {0} pence is over the limit of {1} pence")]
    PenceOverLimit(i64, i64),
    #[error("amount is not a whole number of pence in range: {0}")]
    BadPence(String),
    #[error("end ({end}) is before start ({start})")]
    EndBeforeStart { start: String, end: String },
    #[error("text is {len} characters; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error("must not be empty")]
    Empty,
    #[error("list has {len} items; the limit is {max}")]
    TooManyItems { len: usize, max: usize },
    #[error(
        "looks like an NHS number; publish a pseudonymous reference (letters, digits, `-`, `_`, `.`, `:`), never an NHS number"
    )]
    LooksLikeNhsNumber,
    #[error("`{0}` has characters other than letters, digits, `-`, `_`, `.`, `:`")]
    BadIdentifier(String),
    #[error("{0}")]
    Inconsistent(String),
    #[error("an event cannot supersede itself")]
    SupersedesItself,
}

/// A rejected message: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DecodeError {
    /// Dotted path of the offending field, e.g. `data.amount_pence`; `(message)` for the whole.
    pub field: String,
    pub reason: Reason,
}

impl DecodeError {
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }

    pub(crate) fn whole(reason: Reason) -> Self {
        Self::new("(message)", reason)
    }
}
