//! Checks run on loaded objects: schema validation (and, later, policies).

pub mod schema;
pub mod secrets;
