//! Schema sources for validation: the built-in Kubernetes bundles.

pub mod bundle;
