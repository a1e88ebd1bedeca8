//! Differential test of kgate's native Helm renderer against Helm itself.
//!
//! Every case in tests/helm/cases.json (a chart under tests/helm/charts, values, release name
//! and namespace) is rendered by kgate and compared, file by file and byte by byte, with what
//! Helm's engine produced: tests/helm/golden.json holds Helm's output (written by
//! tests/helm/oracle.py, which runs PyPI's helm-python-sdk), so the test runs without Helm too.
//! When the oracle venv is present (`KGATE_ORACLE_VENV`, else /opt/oracles) the cases are also
//! rendered live and the goldens must still match; `KGATE_HELM_REGEN=1` rewrites them.
//! Errors (`required`, nil pointers, `tpl` failures) must fail in both, at the same template line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kgate::render::helm::{self, values, RenderOpts};
use serde_json::Value as J;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm")
}

fn oracle_python() -> Option<PathBuf> {
    let venv = std::env::var("KGATE_ORACLE_VENV").unwrap_or_else(|_| "/opt/oracles".into());
    let py = Path::new(&venv).join("bin/python");
    if !py.exists() {
        return None;
    }
    let ok = std::process::Command::new(&py)
        .args(["-c", "import helm_python"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// kgate's result for one case, in the oracle's shape.
fn render_case(case: &J) -> J {
    let chart_dir = root().join("charts").join(case["chart"].as_str().unwrap());
    let chart = helm::load_dir(&chart_dir).expect("chart loads");
    let user = match values::from_json(&case["values"]) {
        helm::value::Value::Map(m) => m.borrow().clone(),
        _ => Default::default(),
    };
    let opts = RenderOpts {
        release_name: case["release"].as_str().unwrap().into(),
        namespace: case["namespace"].as_str().unwrap().into(),
        include_crds: false,
        ..RenderOpts::default()
    };
    let rendered = helm::render(&chart, &user, &opts);
    // With the source map on (as `kgate check` renders, following `.Values` into the output)
    // the output must be the same.
    let mapped = helm::render(
        &chart,
        &user,
        &RenderOpts {
            source_map: true,
            ..opts.clone()
        },
    );
    match (&rendered, &mapped) {
        (Ok(a), Ok(b)) => assert!(
            a.iter()
                .map(|f| (&f.name, &f.text))
                .eq(b.iter().map(|f| (&f.name, &f.text))),
            "the source map changed the output of {}",
            case["chart"]
        ),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("the source map changed whether {} renders", case["chart"]),
    }
    match rendered {
        Ok(files) => {
            let m: serde_json::Map<String, J> = files
                .into_iter()
                .map(|f| (f.name, J::String(f.text)))
                .collect();
            serde_json::json!({ "files": m })
        }
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// Compares kgate's result with Helm's; returns the differences, one per line.
fn compare(name: &str, ours: &J, helm: &J) -> Vec<String> {
    let mut diffs = Vec::new();
    match (helm.get("files"), ours.get("files")) {
        (Some(h), Some(o)) => {
            let h: BTreeMap<&String, &J> = h.as_object().unwrap().iter().collect();
            let o: BTreeMap<&String, &J> = o.as_object().unwrap().iter().collect();
            for (k, hv) in &h {
                match o.get(k) {
                    None => diffs.push(format!("{name}: kgate did not render {k}")),
                    Some(ov) if ov != hv => diffs.push(format!(
                        "{name}: {k} differs\n--- helm\n{}\n--- kgate\n{}",
                        hv.as_str().unwrap_or(""),
                        ov.as_str().unwrap_or("")
                    )),
                    _ => {}
                }
            }
            for k in o.keys() {
                if !h.contains_key(k) {
                    diffs.push(format!("{name}: kgate rendered {k}, helm did not"));
                }
            }
        }
        (None, None) => {
            // Both failed: kgate must name the same template file and line Helm names.
            let h = helm["error"].as_str().unwrap_or("");
            let o = ours["error"].as_str().unwrap_or("");
            let pos = o.split(": ").next().unwrap_or("");
            let file_line: String = pos.rsplitn(2, ':').last().unwrap_or("").to_string();
            if file_line.is_empty() || !h.contains(&file_line) {
                diffs.push(format!(
                    "{name}: error positions differ\n helm:  {h}\n kgate: {o}"
                ));
            }
        }
        (Some(_), None) => diffs.push(format!(
            "{name}: kgate failed where helm rendered: {}",
            ours["error"]
        )),
        (None, Some(_)) => diffs.push(format!(
            "{name}: kgate rendered where helm failed: {}",
            helm["error"]
        )),
    }
    diffs
}

#[test]
fn charts_render_like_helm() {
    let cases: Vec<J> =
        serde_json::from_str(&std::fs::read_to_string(root().join("cases.json")).unwrap()).unwrap();
    let golden_path = root().join("golden.json");
    let mut golden: J =
        serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
    if let Some(py) = oracle_python() {
        let out = std::process::Command::new(py)
            .arg(root().join("oracle.py"))
            .output()
            .expect("oracle runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let live: J = serde_json::from_slice(&out.stdout).unwrap();
        if std::env::var_os("KGATE_HELM_REGEN").is_some() {
            std::fs::write(&golden_path, serde_json::to_string_pretty(&live).unwrap()).unwrap();
        } else {
            assert_eq!(
                live, golden,
                "tests/helm/golden.json is stale: rerun with KGATE_HELM_REGEN=1"
            );
        }
        golden = live;
    } else {
        eprintln!("helm oracle not installed: comparing with the committed goldens only");
    }
    let mut diffs = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let ours = render_case(case);
        diffs.extend(compare(name, &ours, &golden[name]));
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

#[test]
fn every_case_has_a_golden_and_each_chart_is_used() {
    let cases: Vec<J> =
        serde_json::from_str(&std::fs::read_to_string(root().join("cases.json")).unwrap()).unwrap();
    let golden: J =
        serde_json::from_str(&std::fs::read_to_string(root().join("golden.json")).unwrap())
            .unwrap();
    for c in &cases {
        assert!(golden.get(c["name"].as_str().unwrap()).is_some(), "{c}");
    }
    for entry in std::fs::read_dir(root().join("charts")).unwrap() {
        let n = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            cases.iter().any(|c| c["chart"] == n.as_str()),
            "chart {n} has no case"
        );
    }
}
