//! Checks run on loaded objects: schema validation (and, later, policies).

pub mod agent_namespace;
pub mod schema;
pub mod secrets;
