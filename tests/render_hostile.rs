//! Hostile kustomizations, run by the real binary under a deadline: inputs whose rendered
//! output grows without end (JSON 6902 `copy` doubling an object, overlays of overlays that
//! double the objects at every level) stop at the render limits with a `render/limit` finding,
//! and a large diamond renders in linear time. A good sibling file is still checked.

use std::path::Path;

use serde_json::Value;

#[path = "common/deadline.rs"]
mod deadline;
use deadline::{repo_with_good as repo, run, write};

fn check(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", ".", "-o", "json"];
    args.extend_from_slice(extra);
    let r = run(dir, &args);
    let v = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {}", r.stderr));
    (r.code, v)
}

fn codes(v: &Value) -> Vec<(String, String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["code"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn sibling_checked(v: &Value) {
    assert!(
        codes(v)
            .iter()
            .any(|(f, c, _)| f == "good.yaml" && c == "schema/unknown-field"),
        "{:#?}",
        codes(v)
    );
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seed\ndata:\n  a: b\n";

/// `x` copied to `y`, then the whole `data` (holding both) copied into `x`, `rounds` times: the
/// object doubles each round, 2^64 nodes for 64 rounds if nothing stopped it. (Copying `data`
/// into `x` alone only nests it one level deeper per copy.)
fn copy_bomb(rounds: usize) -> String {
    let mut patch = String::from("patches:\n- target:\n    kind: ConfigMap\n  patch: |-\n");
    patch.push_str("    - op: add\n      path: /data/x\n      value: {a: b}\n");
    for _ in 0..rounds {
        patch.push_str("    - op: copy\n      from: /data/x\n      path: /data/y\n");
        patch.push_str("    - op: copy\n      from: /data\n      path: /data/x\n");
    }
    format!("resources:\n- cm.yaml\n{patch}")
}

#[test]
fn json_patch_copies_stop_at_the_rendered_object_size_limit() {
    let d = repo();
    write(d.path(), "bomb/cm.yaml", CONFIGMAP);
    write(d.path(), "bomb/kustomization.yaml", &copy_bomb(64));
    let (code, v) = check(d.path(), &[]);
    assert_eq!(code, 1);
    let hit = codes(&v)
        .into_iter()
        .find(|(f, c, _)| f == "bomb/kustomization.yaml" && c == "render/limit")
        .unwrap_or_else(|| panic!("{:#?}", codes(&v)));
    assert!(hit.2.contains("--max-rendered-nodes"), "{}", hit.2);
    sibling_checked(&v);

    // The limit is a flag and a config key; a small one stops a short chain too.
    let d = repo();
    write(d.path(), "bomb/cm.yaml", CONFIGMAP);
    write(d.path(), "bomb/kustomization.yaml", &copy_bomb(8));
    let (code, v) = check(d.path(), &[]);
    assert!(
        !codes(&v).iter().any(|(_, c, _)| c == "render/limit"),
        "8 copies fit the default: {:#?}",
        codes(&v)
    );
    assert_eq!(code, 1);
    let (_, v) = check(d.path(), &["--max-rendered-nodes", "100"]);
    assert!(codes(&v).iter().any(|(_, c, _)| c == "render/limit"));
    write(d.path(), ".kgate.yaml", "max_rendered_nodes: 100\n");
    let (_, v) = check(d.path(), &[]);
    assert!(codes(&v).iter().any(|(_, c, _)| c == "render/limit"));
}

/// Level 0 is a base of `width` ConfigMaps; level i includes level i-1 twice, once under each
/// suffix, so level `depth` renders width × 2^depth objects.
fn diamond(root: &Path, depth: usize, width: usize) {
    let mut base = String::new();
    let mut res = String::from("resources:\n- objects.yaml\n");
    for i in 0..width {
        base.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  k: v\n"
        ));
    }
    res.push_str("configMapGenerator:\n- name: gen\n  literals:\n  - a=b\n");
    write(root, "d/l0/objects.yaml", &base);
    write(root, "d/l0/kustomization.yaml", &res);
    for level in 1..=depth {
        for side in ["a", "b"] {
            write(
                root,
                &format!("d/l{level}{side}/kustomization.yaml"),
                &format!(
                    "nameSuffix: -{side}\nresources:\n- ../l{}\n",
                    if level == 1 {
                        "0".to_string()
                    } else {
                        format!("{}", level - 1)
                    }
                ),
            );
        }
        write(
            root,
            &format!("d/l{level}/kustomization.yaml"),
            &format!("resources:\n- ../l{level}a\n- ../l{level}b\n"),
        );
    }
}

#[test]
fn a_deep_diamond_renders_in_linear_time_and_stops_at_the_object_limit() {
    // 3 × 2^13 = 24,576 objects at the top: under the default limit, rendered well within the
    // deadline (quadratic reference fixing took minutes here).
    let d = repo();
    diamond(d.path(), 13, 2);
    let start = std::time::Instant::now();
    let r = run(d.path(), &["render", "d/l13"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = String::from_utf8(r.stdout).unwrap();
    assert_eq!(text.matches("kind: ConfigMap").count(), 3 << 13);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );

    // Past --max-rendered-objects the build stops with a finding, not after exhausting memory.
    let r = run(
        d.path(),
        &["render", "d/l13", "--max-rendered-objects", "1000"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("render/limit") && r.stderr.contains("--max-rendered-objects"),
        "{}",
        r.stderr
    );
    // In a check, from the config file, next to a checked sibling.
    let d = repo();
    diamond(d.path(), 16, 2);
    write(d.path(), ".kgate.yaml", "max_rendered_objects: 5000\n");
    let (code, v) = check(d.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        codes(&v)
            .iter()
            .any(|(_, c, m)| c == "render/limit" && m.contains("5000 objects")),
        "{:#?}",
        codes(&v)
            .iter()
            .filter(|(_, c, _)| c.starts_with("render"))
            .collect::<Vec<_>>()
    );
    sibling_checked(&v);
}
