//! kgate: a gate between a merge request and a GitOps-managed Kubernetes cluster.

pub mod schema;
