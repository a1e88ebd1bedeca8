//! Enumerates the built-in resource kinds of the enabled Kubernetes version.
//!
//! k8s-openapi has no runtime registry of its types, so this scans its source (the directory is
//! passed by generate.sh in `K8S_OPENAPI_SRC`, found with `cargo metadata`) for the per-version
//! `impl crate::Resource for T {` blocks and writes `$OUT_DIR/kinds.rs`, a list of
//! `kind::<k8s_openapi::path::T>()` calls. Only non-generic types whose `Metadata::Ty` is
//! `ObjectMeta` are listed (this drops `List<T>`, `Status`, discovery types like `APIGroup`);
//! the compiler re-checks that bound in `main.rs`, and sub-resources (`Scale`, `Eviction`,
//! `TokenRequest`) are dropped there by their `SubResourceScope`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=K8S_OPENAPI_SRC");
    println!("cargo::rerun-if-changed=build.rs");
    let versions: Vec<u32> = (30..=37)
        .filter(|v| std::env::var(format!("CARGO_FEATURE_V1_{v}")).is_ok())
        .collect();
    assert!(
        versions.len() == 1,
        "enable exactly one of the features v1_30..v1_37 (got {versions:?})"
    );
    let minor = versions[0];
    let src = std::env::var("K8S_OPENAPI_SRC")
        .expect("set K8S_OPENAPI_SRC to the k8s-openapi package directory (generate.sh does)");
    let version_dir = Path::new(&src).join("src").join(format!("v1_{minor}"));
    assert!(
        version_dir.is_dir(),
        "{} is not a directory",
        version_dir.display()
    );

    let mut files = Vec::new();
    collect_rs(&version_dir, &mut files);
    files.sort();

    let mut paths = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(&version_dir).unwrap();
        // Module path of the file's parent directory: api/apps/v1/deployment.rs -> api::apps::v1
        let module: Vec<String> = rel
            .parent()
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_str().unwrap().to_owned())
            .collect();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("impl crate::Resource for ") else {
                continue;
            };
            let Some(ty) = rest.strip_suffix(" {") else {
                continue;
            };
            if !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // generic (List<T>) or otherwise unusual
            }
            let metadata_impl = format!(
                "impl crate::Metadata for {ty} {{\n    type Ty = crate::apimachinery::pkg::apis::meta::v1::ObjectMeta;"
            );
            if !text.contains(&metadata_impl) {
                continue; // no ObjectMeta: Status, APIGroup, APIVersions, ...
            }
            let mut path = String::from("k8s_openapi");
            for m in &module {
                path.push_str("::");
                path.push_str(m);
            }
            path.push_str("::");
            path.push_str(ty);
            paths.push(path);
        }
    }
    assert!(
        paths.len() > 50,
        "found only {} resource kinds in {}",
        paths.len(),
        version_dir.display()
    );

    let mut out = String::new();
    writeln!(
        out,
        "/// Kubernetes minor version these kinds were generated for."
    )
    .unwrap();
    writeln!(out, "pub const KUBERNETES_VERSION: &str = \"1.{minor}\";").unwrap();
    writeln!(
        out,
        "/// Every built-in resource kind with ObjectMeta found in k8s-openapi."
    )
    .unwrap();
    writeln!(
        out,
        "pub fn all_kinds() -> Vec<Option<crate::RawKind>> {{\n    vec!["
    )
    .unwrap();
    for p in &paths {
        writeln!(out, "        crate::kind::<{p}>(),").unwrap();
    }
    writeln!(out, "    ]\n}}").unwrap();
    let out_path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("kinds.rs");
    std::fs::write(out_path, out).unwrap();
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
