//! Where schemas come from: built-in bundles, CRDs, local schema folders; the registry that
//! compiles and shares them.

pub mod bundle;
pub mod crd;
pub mod registry;
pub mod removed;
