//! Checks run on loaded objects: schema validation (and, later, policies).

pub mod admission;
pub mod agent_namespace;
pub mod cel;
pub mod schema;
pub mod vap;
