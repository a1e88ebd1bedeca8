//! The hostile-repository suite: every case is generated at test time in a temporary folder and
//! checked by the real binary under a deadline (killed and failed if exceeded). Each case
//! asserts the exit status, the finding that names the problem, and that a good sibling file
//! with a known schema error (`good.yaml`, unknown field `bogus` at 7:1) is still reported in
//! the same run.

#[path = "common/git_repo.rs"]
mod git_repo;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/deadline.rs"]
mod deadline;
use deadline::{run, Run, GOOD};

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&self.stdout),
                self.stderr
            )
        })
    }
}

/// A repository root: symlinks and `../` are judged against it.
fn repo() -> tempfile::TempDir {
    deadline::repo_with_good()
}

fn findings(report: &Value) -> Vec<(String, String, u64, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The finding `code` on `file`, with its message.
fn finding(report: &Value, file: &str, code: &str) -> String {
    findings(report)
        .into_iter()
        .find(|(f, c, _, _)| f == file && c == code)
        .map(|(_, _, _, m)| m)
        .unwrap_or_else(|| panic!("no {code} on {file} in {:#?}", findings(report)))
}

/// The good sibling's known error is still reported.
fn sibling_checked(report: &Value) {
    assert!(
        findings(report)
            .iter()
            .any(|(f, c, l, _)| f == "good.yaml" && c == "schema/unknown-field" && *l == 7),
        "good.yaml's unknown field is missing: {:#?}",
        findings(report)
    );
}

fn check_json(dir: &Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["check", ".", "-o", "json"];
    args.extend_from_slice(extra);
    let r = run(dir, &args);
    let v = r.json();
    (r, v)
}

#[test]
fn alias_bombs_and_quadratic_anchors_hit_the_node_budget() {
    let d = repo();
    // Billion laughs: 10 levels of 10 aliases each.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    std::fs::write(d.path().join("bomb.yaml"), bomb).unwrap();
    // Quadratic: one anchored list of 2,000 items aliased 2,000 times (4M nodes).
    let mut quad = String::from("base: &b [");
    quad.push_str(&vec!["1"; 2000].join(","));
    quad.push_str("]\nuses:\n");
    for _ in 0..2000 {
        quad.push_str("- *b\n");
    }
    std::fs::write(d.path().join("quadratic.yaml"), quad).unwrap();
    let (r, v) = check_json(d.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for f in ["bomb.yaml", "quadratic.yaml"] {
        let m = finding(&v, f, "yaml/limit");
        assert!(
            m.contains("1000000 nodes") && m.contains("--max-nodes"),
            "{m}"
        );
    }
    sibling_checked(&v);
}

#[test]
fn ten_thousand_levels_of_nesting_are_a_limit_not_a_stack_overflow() {
    let d = repo();
    let n = 10_000;
    let flow = format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
    std::fs::write(d.path().join("flow.yaml"), flow).unwrap();
    // Block sequences nest on one line: `- - - … x`.
    let block = format!("{}x\n", "- ".repeat(n));
    std::fs::write(d.path().join("block.yaml"), block).unwrap();
    let (r, v) = check_json(d.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(finding(&v, "flow.yaml", "yaml/limit").contains("nesting"));
    let m = finding(&v, "block.yaml", "yaml/limit");
    assert!(m.contains("200 levels") && m.contains("--max-depth"), "{m}");
    sibling_checked(&v);
    // The limit is configurable: 5 levels of nesting are refused with --max-depth 3.
    std::fs::write(d.path().join("flow.yaml"), "a: [[[[[1]]]]]\n").unwrap();
    std::fs::remove_file(d.path().join("block.yaml")).unwrap();
    let (_, v) = check_json(d.path(), &["--max-depth", "3"]);
    assert!(finding(&v, "flow.yaml", "yaml/limit").contains("deeper than 3 levels"));
}

#[test]
fn a_200_mb_file_is_refused_by_the_size_limit_quickly() {
    let d = repo();
    let path = d.path().join("huge.yaml");
    let gen = Instant::now();
    {
        let mut w =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let line = format!("# {}\n", "x".repeat(1021));
        for _ in 0..200 * 1024 {
            w.write_all(line.as_bytes()).unwrap();
        }
        w.flush().unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 200 * 1024 * 1024);
    eprintln!("generated 200 MiB in {:?}", gen.elapsed());
    let (r, v) = check_json(d.path(), &[]);
    eprintln!("refused the 200 MiB file in {:?}", r.elapsed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = finding(&v, "huge.yaml", "file/too-large");
    assert!(
        m.contains("209715200 bytes") && m.contains("--max-file-size"),
        "{m}"
    );
    sibling_checked(&v);
    // Refused from its size, never read: well under the deadline.
    assert!(r.elapsed < Duration::from_secs(30), "{:?}", r.elapsed);

    // With a raised limit (flag or config) a large-ish file is read and checked.
    std::fs::remove_file(&path).unwrap();
    let mut big = String::new();
    while big.len() < 6 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    big.push_str(GOOD);
    std::fs::write(d.path().join("big.yaml"), &big).unwrap();
    let (_, v) = check_json(d.path(), &["--max-file-size", "4Mi"]);
    finding(&v, "big.yaml", "file/too-large");
    std::fs::write(d.path().join(".kgate.yaml"), "max_file_size: 8Mi\n").unwrap();
    let (r, v) = check_json(d.path(), &[]);
    assert_eq!(r.code, 1);
    let f = findings(&v);
    assert!(
        f.iter()
            .any(|(file, c, _, _)| file == "big.yaml" && c == "schema/unknown-field"),
        "{f:#?}"
    );
}

#[test]
fn a_million_tiny_documents_hit_the_documents_limit() {
    let d = repo();
    let path = d.path().join("many.yaml");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..1_000_000 {
            w.write_all(b"---\n").unwrap();
        }
        w.flush().unwrap();
    }
    let (r, v) = check_json(d.path(), &[]);
    eprintln!("1,000,000 documents: {:?}", r.elapsed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = finding(&v, "many.yaml", "yaml/limit");
    assert!(
        m.contains("more than 100000 documents") && m.contains("--max-documents"),
        "{m}"
    );
    sibling_checked(&v);
    // From the config file too.
    std::fs::write(path, "a: 1\n---\nb: 2\n---\nc: 3\n").unwrap();
    std::fs::write(d.path().join(".kgate.yaml"), "max_documents: 2\n").unwrap();
    let (_, v) = check_json(d.path(), &[]);
    assert!(finding(&v, "many.yaml", "yaml/limit").contains("more than 2 documents"));
}

#[test]
fn binary_nul_non_utf8_and_bom_files() {
    let d = repo();
    let p = d.path();
    std::fs::write(p.join("binary.yaml"), [0x7f, b'E', b'L', b'F', 0, 0, 1, 2]).unwrap();
    std::fs::write(p.join("nul.yaml"), b"apiVersion: v1\nkind: Conf\0igMap\n").unwrap();
    std::fs::write(
        p.join("latin1.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n",
    )
    .unwrap();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(GOOD.as_bytes());
    std::fs::write(p.join("bom.yaml"), bom).unwrap();
    let (r, v) = check_json(p, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(finding(&v, "binary.yaml", "file/not-text").contains("NUL"));
    assert!(finding(&v, "nul.yaml", "file/not-text").contains("NUL"));
    assert!(finding(&v, "latin1.yaml", "file/not-text").contains("UTF-8"));
    // A UTF-8 byte order mark is allowed: the file is checked, lines count as usual.
    assert!(findings(&v)
        .iter()
        .any(|(f, c, l, _)| f == "bom.yaml" && c == "schema/unknown-field" && *l == 7));
    sibling_checked(&v);
}

#[cfg(unix)]
#[test]
fn hostile_file_names_keep_every_output_format_well_formed() {
    use std::os::unix::ffi::OsStrExt;
    let d = repo();
    let names: [&[u8]; 4] = [
        b"new\nline.yaml",
        b"esc\x1b[2J\x1b[31mred.yaml",
        b"latin\xff\xfe.yaml",
        b"tab\tcr\r::bell\x07.yaml",
    ];
    for n in names {
        std::fs::write(d.path().join(std::ffi::OsStr::from_bytes(n)), GOOD).unwrap();
    }
    for format in [
        "human", "json", "sarif", "junit", "github", "gitlab", "markdown",
    ] {
        let r = run(d.path(), &["check", ".", "-o", format]);
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        let text = String::from_utf8(r.stdout.clone())
            .unwrap_or_else(|_| panic!("{format}: output is not UTF-8"));
        // No raw control character but newline (and tab in human code frames) reaches the
        // output: no terminal escape, no bell, no carriage return.
        for c in text.chars() {
            assert!(
                !c.is_control() || c == '\n' || (c == '\t' && format == "human"),
                "{format}: raw control character {c:?} in output:\n{text}"
            );
        }
        match format {
            "json" | "sarif" | "gitlab" => {
                serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{format}: {e}"));
            }
            "junit" => {
                let problems = xml_problems(&text);
                assert!(
                    problems.is_empty(),
                    "junit not well-formed: {problems:?}\n{text}"
                );
            }
            "github" => {
                // One workflow command per line, and 5 files × 2 findings.
                // (The last line is the plain summary.)
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.is_empty() && !l.starts_with("kgate: "))
                    .collect();
                assert!(lines.iter().all(|l| l.starts_with("::")), "{text}");
                assert_eq!(
                    lines
                        .iter()
                        .filter(|l| l.contains("schema/unknown-field"))
                        .count(),
                    5,
                    "{text}"
                );
            }
            _ => {}
        }
        // Every file's finding is there, whatever its name.
        assert!(text.matches("bogus").count() >= 5, "{format}: {text}");
    }
}

/// A minimal well-formedness check of XML (balanced tags, quoted attributes, no raw `<`/`&`
/// in text): returns the problems found. The crate has no XML parser dependency.
fn xml_problems(xml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('&') {
            let ok = ["amp;", "lt;", "gt;", "quot;", "apos;", "#"]
                .iter()
                .any(|e| after.starts_with(e));
            if !ok {
                problems.push(format!(
                    "bare & before {:?}",
                    after.chars().take(20).collect::<String>()
                ));
            }
            rest = after;
            continue;
        }
        let Some(end) = tail.find('>') else {
            problems.push("unclosed tag".into());
            break;
        };
        let tag = &tail[1..end];
        if tag.starts_with('?') || tag.starts_with('!') {
            // declaration or comment
        } else if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                problems.push(format!("mismatched </{name}>"));
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            stack.push(name);
        }
        if tag.matches('"').count() % 2 != 0 || tag.contains('<') {
            problems.push(format!("bad tag <{tag}>"));
        }
        rest = &tail[end + 1..];
    }
    if !stack.is_empty() {
        problems.push(format!("unclosed elements {stack:?}"));
    }
    problems
}

#[cfg(unix)]
#[test]
fn fifos_sockets_dev_zero_and_symlink_loops_are_never_read() {
    use std::os::unix::fs::symlink;
    let d = repo();
    let p = d.path();
    // mkfifo(1): the crate has no libc dependency.
    let made = Command::new("mkfifo")
        .arg(p.join("fifo.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let _sock = std::os::unix::net::UnixListener::bind(p.join("sock.yaml")).unwrap();
    symlink("/dev/zero", p.join("zero.yaml")).unwrap();
    std::fs::create_dir(p.join("sub")).unwrap();
    symlink("/dev/zero", p.join("sub/zero-inside.yaml")).unwrap();
    symlink("loop-b.yaml", p.join("loop-a.yaml")).unwrap();
    symlink("loop-a.yaml", p.join("loop-b.yaml")).unwrap();
    symlink("/etc/passwd", p.join("passwd.yaml")).unwrap();
    symlink("/etc", p.join("etc-dir")).unwrap();
    let (r, v) = check_json(p, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(finding(&v, "fifo.yaml", "file/unreadable").contains("not a regular file"));
    assert!(finding(&v, "sock.yaml", "file/unreadable").contains("not a regular file"));
    finding(&v, "zero.yaml", "file/outside-root");
    finding(&v, "passwd.yaml", "file/outside-root");
    finding(&v, "loop-a.yaml", "file/unreadable");
    // Nothing from /etc was read.
    assert!(!String::from_utf8_lossy(&r.stdout).contains("root:"));
    sibling_checked(&v);
}

#[test]
fn kustomization_cycles_and_escapes_are_findings_not_hangs() {
    let d = repo();
    let p = d.path();
    for (dir, text) in [
        ("a", "resources:\n- ../b\n"),
        ("b", "resources:\n- ../a\n"),
        ("self", "resources:\n- .\n"),
        (
            "escape",
            "resources:\n- ../../../../../../etc\n- ../../outside.yaml\n- /etc/passwd\n",
        ),
    ] {
        std::fs::create_dir_all(p.join(dir)).unwrap();
        std::fs::write(p.join(dir).join("kustomization.yaml"), text).unwrap();
    }
    let (r, v) = check_json(p, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let f = findings(&v);
    // The a ⇄ b cycle has no root kustomization: it is still reported.
    assert!(
        f.iter()
            .any(|(file, c, _, _)| c == "render/cycle" && file.starts_with("b/")),
        "{f:#?}"
    );
    assert!(f
        .iter()
        .any(|(file, c, _, _)| c == "render/cycle" && file.starts_with("self/")));
    assert_eq!(
        f.iter()
            .filter(
                |(file, c, _, _)| file == "escape/kustomization.yaml" && c == "render/outside-root"
            )
            .count(),
        3,
        "{f:#?}"
    );
    sibling_checked(&v);
}

#[test]
fn a_policy_that_computes_without_end_is_stopped_by_the_time_limit() {
    let d = repo();
    let p = d.path();
    std::fs::create_dir(p.join("policy")).unwrap();
    std::fs::write(
        p.join("policy/slow.rego"),
        "package main\nimport rego.v1\n\ndeny contains msg if {\n  n := count([x | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); x := i * j])\n  msg := sprintf(\"%d\", [n])\n}\n",
    )
    .unwrap();
    let (r, v) = check_json(p, &["-p", "policy", "--policy-timeout", "300ms"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = finding(&v, "good.yaml", "policy/timeout");
    assert!(
        m.contains("data.main.deny") && m.contains("300 ms") && m.contains("--policy-timeout"),
        "{m}"
    );
    sibling_checked(&v);
    eprintln!("runaway policy stopped; run took {:?}", r.elapsed);
    // From the config file too.
    std::fs::write(
        p.join(".kgate.yaml"),
        "policies: [policy]\npolicy_timeout: 200ms\n",
    )
    .unwrap();
    let (_, v) = check_json(p, &[]);
    assert!(finding(&v, "good.yaml", "policy/timeout").contains("200 ms"));

    // Mutually recursive rules: regorus detects the recursion; a clear error (exit 2) on the
    // policy, the files are still checked.
    std::fs::remove_file(p.join(".kgate.yaml")).unwrap();
    std::fs::write(
        p.join("policy/slow.rego"),
        "package main\nimport rego.v1\n\na if { b }\nb if { a }\ndeny contains \"x\" if { a }\n",
    )
    .unwrap();
    let (r, v) = check_json(p, &["-p", "policy"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let f = findings(&v);
    assert!(
        f.iter()
            .any(|(_, c, _, m)| c == "policy/eval-error" && m.contains("recursion")),
        "{f:#?}"
    );
    sibling_checked(&v);
}

#[test]
fn malformed_and_enormous_crds_are_findings() {
    let d = repo();
    let p = d.path();
    std::fs::write(
        p.join("bad-crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: 17\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: x}\nspec: {}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("no-spec-crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\n",
    )
    .unwrap();
    // Enormous: a schema with 50,000 properties, and an object with 50,000 unknown fields.
    let mut big = String::from(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  names: {kind: Gadget, plural: gadgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n",
    );
    for i in 0..50_000 {
        big.push_str(&format!("              f{i}: {{type: string}}\n"));
    }
    big.push_str("---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: x}\nspec:\n  f1: ok\n");
    for i in 0..50_000 {
        big.push_str(&format!("  u{i}: 1\n"));
    }
    std::fs::write(p.join("big-crd.yaml"), big).unwrap();
    let (r, v) = check_json(p, &[]);
    eprintln!("malformed + enormous CRDs: {:?}", r.elapsed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(finding(&v, "bad-crd.yaml", "schema/unusable").contains("Widget"));
    finding(&v, "no-spec-crd.yaml", "schema/bad-crd");
    let unknown = findings(&v)
        .into_iter()
        .filter(|(f, c, _, _)| f == "big-crd.yaml" && c == "schema/unknown-field")
        .count();
    assert_eq!(unknown, 50_000);
    sibling_checked(&v);
}

#[test]
fn the_memory_target_refuses_files_in_path_order() {
    let d = repo();
    let p = d.path();
    let filler = format!("# {}\n", "x".repeat(2000));
    std::fs::write(p.join("a-first.yaml"), GOOD).unwrap();
    std::fs::write(p.join("z-last.yaml"), format!("{filler}{GOOD}")).unwrap();
    // 64 × (76 + 76 + 2079) bytes does not fit in 128 KiB; the first two files do.
    let (r, v) = check_json(p, &["--memory-target", "128Ki"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = finding(&v, "z-last.yaml", "limit/memory-target");
    assert!(m.contains("--memory-target") && m.contains("131072"), "{m}");
    assert!(findings(&v)
        .iter()
        .any(|(f, c, _, _)| f == "a-first.yaml" && c == "schema/unknown-field"));
    sibling_checked(&v);
}

#[test]
fn a_missing_base_object_is_a_clear_failure() {
    let repo = git_repo::Repo::new();
    repo.write("good.yaml", GOOD);
    let base = repo.commit("base");
    repo.write("other.yaml", GOOD);
    repo.commit("head");
    // A base that does not exist at all.
    let r = run(
        repo.path(),
        &[
            "check",
            "--base",
            "0123456789abcdef0123456789abcdef01234567",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("0123456789abcdef"), "{}", r.stderr);
    // A base commit whose tree object is gone (a broken or partial clone).
    let tree = repo
        .git(&["rev-parse", &format!("{base}^{{tree}}")])
        .trim()
        .to_string();
    let obj = repo
        .path()
        .join(".git/objects")
        .join(&tree[..2])
        .join(&tree[2..]);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap();
    std::fs::remove_file(&obj).unwrap();
    let r = run(repo.path(), &["check", "--base", &base]);
    assert_eq!(
        r.code,
        2,
        "stdout {} stderr {}",
        String::from_utf8_lossy(&r.stdout),
        r.stderr
    );
    assert!(r.stderr.starts_with("kgate: error:"), "{}", r.stderr);
    assert!(
        r.stderr.to_lowercase().contains("object") || r.stderr.contains(&tree[..7]),
        "{}",
        r.stderr
    );
    let r = run(repo.path(), &["diff", "--base", &base]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
