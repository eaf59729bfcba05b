//! The model's integration tests, one binary (linking a binary per file is slow): the wire
//! format as documented, and hostile input with its defined outcomes. Their strategies and
//! invariant checkers are golive-testkit's (the fuzz targets share the checkers).

mod claims;
mod decode;
mod hostile;
mod schema2;
