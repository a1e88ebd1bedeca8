//! Where schemas come from: built-in bundles, the CRD catalog, CRDs, local schema folders; the
//! registry that compiles and shares them.

pub mod bundle;
pub mod catalog;
pub mod crd;
pub mod listing;
pub mod packed;
pub mod registry;
pub mod removed;
pub mod scope;
