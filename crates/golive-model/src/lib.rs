//! # golive-model
//!
//! The event model of Go-Live Ledger: the JSON wire envelope a trust publishes, the typed data of
//! each incident kind, validation with errors that name the field and the reason, the canonical
//! bytes of an event and the hash chain over them.
//!
//! **Invariant:** this crate does no IO and knows nothing of NATS or sled. Everything that crosses
//! a process boundary enters through [`decode`] (JSON bytes -> validated [`Envelope`]) and leaves
//! through [`Envelope::canonical_bytes`] (the exact bytes that are hashed, exported and audited).
//!
//! Design decision: the canonical form is compact JSON in a fixed field order, produced from the
//! typed, validated envelope. Any language can re-hash an exported record without knowing bincode,
//! and two publishers that format the same event differently still produce the same canonical bytes.

// Before the modules, so that every one of them can use it.
/// Declares a wire enum: snake_case names, `as_str`, `ALL` and a one-line list for messages.
/// Exported for the other crates' wire enums (the caller has serde's `Serialize` and
/// `Deserialize` in scope).
#[macro_export]
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( #[serde(rename = $s)] $variant ),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static str = concat!($($s, " "),+);
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod canonical;
mod decode;
mod envelope;
mod error;
mod kinds;
mod lines;
pub mod protocol;
mod types;
mod validate;

pub use canonical::{ChainHash, GENESIS_HASH, chain_hash};
pub use decode::{MESSAGE_BYTES_MAX, decode, decode_canonical, decode_str};
pub use envelope::{
    Attribution, Envelope, RelatesTo, Relation, SCHEMA_1, SCHEMA_2, SCHEMA_VERSION, Source,
    SourceType, Stance, Status, upcast_schema1_source,
};
pub use error::{DecodeError, Reason};
pub use kinds::*;
pub use lines::{decode_line, read_line_bounded};
pub use types::{
    CollectorId, EventId, FICTIONAL_PREFIX, IsoWeek, OdsCode, PatientRef, Pence, Period,
    format_time, looks_like_nhs_number,
};
pub use validate::limits;
