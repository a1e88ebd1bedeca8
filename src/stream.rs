//! Which files a check run can stream: files that hold only ordinary objects are read, checked
//! and let go one at a time once the run's shared facts (schemas, policies, units) are known, so
//! memory follows the largest file, not the repository.
//!
//! A file is held for the whole run when its text may contain an object that other objects'
//! checks read: a CRD (schemas), a Gatekeeper or admission policy object, a Flux or Argo CD
//! object (units, namespaces, sources), or a kustomize object. The test is on the raw text and
//! errs towards holding: a file that names none of these words (and has no escape sequence that
//! could spell one) cannot declare such an object, whatever its YAML says.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::manifest::Manifest;

/// Words one of which the text of any object other objects depend on contains (in its
/// `apiVersion` or `kind`).
const SHARED_FACT_WORDS: &[&str] = &[
    "CustomResourceDefinition",
    "gatekeeper.sh",
    "admissionregistration",
    "fluxcd.io",
    "argoproj.io",
    "kustomize.config.k8s.io",
];

/// Whether a file's text cannot hold an object whose facts other objects' checks read. A
/// backslash (a double-quoted escape such as `\u0043`, or an escaped line break) could spell any
/// word: such a file is held.
pub fn is_streamable(text: &str) -> bool {
    !text.contains('\\') && !SHARED_FACT_WORDS.iter().any(|w| text.contains(w))
}

/// Whether checking the run needs every object at once, so nothing can be streamed: Gatekeeper
/// (its inventory and namespace selectors read all objects), admission policies (their params
/// and namespaces are any objects), and Flux objects that read ConfigMaps and Secrets by name
/// (`valuesFrom`, `postBuild.substituteFrom`).
pub fn reads_every_object(m: &Manifest) -> bool {
    let group = m.group();
    group.ends_with("gatekeeper.sh")
        || (group == "admissionregistration.k8s.io" && m.resource.kind.contains("AdmissionPolicy"))
        || m.json.pointer("/spec/valuesFrom").is_some()
        || m.json.pointer("/spec/postBuild/substituteFrom").is_some()
}

/// Whether an object renders from repository files the unit graph does not list: a Flux
/// HelmRelease's `valuesFiles` (paths in its chart's source, anywhere in the repository), an Argo
/// CD Application's Helm sources (`valueFiles`, `$values` references). A run about a change
/// cannot tell which units such a change reaches, so it checks every unit.
pub fn reads_repository_files(m: &Manifest) -> bool {
    match (m.group(), m.resource.kind.as_str()) {
        ("helm.toolkit.fluxcd.io", "HelmRelease") => m
            .json
            .pointer("/spec/chart/spec/valuesFiles")
            .and_then(|v| v.as_array())
            .is_some_and(|v| !v.is_empty()),
        ("argoproj.io", "Application") => {
            let spec = &m.json["spec"];
            let sources = spec["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&spec["source"]));
            sources.into_iter().any(|s| {
                s.get("helm").is_some() || s.get("chart").is_some() || s.get("ref").is_some()
            })
        }
        _ => false,
    }
}

/// Text that makes a changed file reach units the unit graph does not connect it to: a CRD
/// (schemas and scopes of every object of its kinds), Gatekeeper and admission policies (they
/// judge every object), a Flux source (what every unit of it reads).
pub fn reaches_every_unit(text: &str) -> bool {
    [
        "CustomResourceDefinition",
        "gatekeeper.sh",
        "admissionregistration",
        "source.toolkit.fluxcd.io",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A file left to be streamed, with its place in discovery order.
#[derive(Debug, Clone)]
pub struct StreamFile {
    pub display: String,
    pub path: PathBuf,
    pub order: usize,
    /// Its id in the run's files, registered before it is read (rendering may read it first).
    pub id: u32,
}

/// The files a run streams, and the discovery order of every file (objects are reported in
/// that order, as a run that holds everything reports them).
#[derive(Debug, Default)]
pub struct Stream {
    pub files: Vec<StreamFile>,
    pub order: HashMap<String, usize>,
}

impl Stream {
    /// Where a held file's objects go in the report's order (stdin and unknown paths last).
    pub fn order_of(&self, display: &str) -> usize {
        self.order.get(display).copied().unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Manifest {
        let files = crate::source::Files::new();
        let file = files.add("x.yaml", text);
        crate::load::load_file(&files, &file, &crate::yaml::Limits::default())
            .manifests
            .remove(0)
    }

    #[test]
    fn values_files_anywhere_in_the_repository_are_found() {
        let release = |values: &str| {
            object(&format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\nspec:\n  chart:\n    spec:\n      chart: ./charts/a\n{values}"
            ))
        };
        assert!(reads_repository_files(&release(
            "      valuesFiles: [./values/prod.yaml]\n"
        )));
        assert!(!reads_repository_files(&release("")));
        let app = |source: &str| {
            object(&format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n{source}"
            ))
        };
        assert!(reads_repository_files(&app(
            "  source:\n    path: charts/a\n    helm:\n      valueFiles: [../../values.yaml]\n"
        )));
        assert!(reads_repository_files(&app(
            "  sources:\n    - path: apps\n    - repoURL: x\n      ref: values\n"
        )));
        assert!(!reads_repository_files(&app(
            "  source:\n    path: apps/web\n"
        )));
    }

    #[test]
    fn ordinary_objects_stream() {
        assert!(is_streamable(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n"
        ));
        assert!(is_streamable(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n---\nkind: Service\n"
        ));
    }

    #[test]
    fn objects_others_depend_on_are_held() {
        for text in [
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\n",
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\n",
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\n",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
            "{\"kind\": \"CustomResourceDefinition\"}",
        ] {
            assert!(!is_streamable(text), "{text}");
        }
    }

    #[test]
    fn escapes_that_could_spell_a_kind_are_held() {
        // "\x43ustomResourceDefinition" and an escaped line break both spell the CRD kind.
        assert!(!is_streamable(
            "apiVersion: apiextensions.k8s.io/v1\nkind: \"\\x43ustomResourceDefinition\"\n"
        ));
        assert!(!is_streamable("kind: \"CustomResource\\\n  Definition\"\n"));
    }
}
