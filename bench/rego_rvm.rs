//! Benchmark: regorus's interpreter vs its RVM (compiled bytecode) on a conftest-style policy
//! set (`bench/rego/policy.rego`: eight `deny` bodies and a `warn` over Deployments) and ~5,000
//! generated Deployments, one evaluation per object as `kgate check` does it.
//!
//! Run (release, the way kgate ships):
//!   cargo run --release --features rvm-bench --example rego_rvm -- [OBJECTS] [ROUNDS]
//!
//! Prints documents/second for the interpreter alone, the interpreter with kgate's builtin size
//! guards (`policy::guard`, how `kgate check` runs user policies) and the RVM, after checking
//! the RVM gives the interpreter's findings on every object (a faster wrong answer is no answer).
//!
//! Why the RVM is not adopted in `src/policy` (regorus 0.14.1):
//! - its compiler resolves builtins straight from regorus's table and never sees engine
//!   extensions, so kgate's size guards and `kgate.inline_secrets` must become host-await
//!   builtins answered by the host (the `rvm+guard` line below measures that);
//! - it does not give the interpreter's answers on kgate's own policies: a builtin type error
//!   (`input.metadata.name / 2`) is an undefined value instead of an error (kgate reports
//!   `policy/eval-error`), and kgate's built-in pack in its Rego form gives different findings
//!   (`policy::native` differential test) — measured with an attempt kept out of the tree
//!   (notes/s6-facts.md).

use std::time::Instant;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::{ExecutionMode, RegoVM};
use regorus::{Engine, Value};

const POLICY: &str = include_str!("rego/policy.rego");
const RULES: [&str; 2] = ["data.main.deny", "data.main.warn"];

/// A Deployment; `i` picks which rules it breaks (about half break at least one).
fn deployment(i: usize) -> serde_json::Value {
    let tag = match i % 7 {
        0 => "latest".to_string(),
        1 => String::new(),
        _ => format!("1.{}.{}", i % 13, i % 5),
    };
    let image = if tag.is_empty() {
        format!("registry.example.com/team/app{}", i % 50)
    } else {
        format!("registry.example.com/team/app{}:{tag}", i % 50)
    };
    let mut container = serde_json::json!({
        "name": format!("app{i}"),
        "image": image,
        "ports": [{"containerPort": 8080, "name": "http"}],
        "env": [{"name": "MODE", "value": "production"}, {"name": "INDEX", "value": i.to_string()}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    });
    if i % 3 != 0 {
        container["resources"]["limits"] = serde_json::json!({"memory": "256Mi"});
    }
    if i % 11 == 0 {
        container["securityContext"] = serde_json::json!({"privileged": true});
    }
    if i % 4 != 0 {
        container["readinessProbe"] =
            serde_json::json!({"httpGet": {"path": "/ready", "port": 8080}});
    }
    let sidecar = serde_json::json!({
        "name": "proxy",
        "image": "registry.example.com/mesh/proxy:2.1.0",
        "resources": {"limits": {"memory": "64Mi"}},
        "readinessProbe": {"tcpSocket": {"port": 15021}},
    });
    let mut labels = serde_json::json!({"team": "payments"});
    if i % 5 != 0 {
        labels["app.kubernetes.io/name"] = serde_json::json!(format!("app{i}"));
    }
    let mut volumes = vec![serde_json::json!({"name": "config", "configMap": {"name": "cfg"}})];
    if i % 17 == 0 {
        volumes.push(serde_json::json!({"name": "host", "hostPath": {"path": "/var/run"}}));
    }
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": format!("app{i}"),
            "namespace": if i % 2 == 0 { "prod-payments" } else { "dev-payments" },
            "labels": labels,
        },
        "spec": {
            "replicas": i % 4,
            "selector": {"matchLabels": {"app": format!("app{i}")}},
            "template": {
                "metadata": {"labels": {"app": format!("app{i}")}},
                "spec": {
                    "securityContext": if i % 6 == 0 { serde_json::json!({}) } else { serde_json::json!({"runAsNonRoot": true}) },
                    "containers": [container, sidecar],
                    "volumes": volumes,
                },
            },
        },
    })
}

fn engine() -> Engine {
    let mut e = Engine::new();
    e.set_rego_v0(false);
    e.set_strict_builtin_errors(false);
    e.add_policy("policy.rego".into(), POLICY.into())
        .expect("policy parses");
    e
}

/// Runs entry point `rule` on a suspendable VM, answering every host-await suspension with the
/// guarded builtin it names (arguments arrive as one array).
fn run_guarded(vm: &mut RegoVM, rule: &str) -> Value {
    let mut result = vm.execute_entry_point_by_name(rule).expect("RVM evaluates");
    while let (Some(name), Some(arg)) = (
        vm.get_host_await_identifier().cloned(),
        vm.get_host_await_argument().cloned(),
    ) {
        let name = name.as_string().expect("builtin name").to_string();
        // A registered host-await builtin's inputs always arrive packed in one array.
        let Value::Array(args) = arg else {
            panic!("host-await inputs of {name} are not an array: {arg}");
        };
        let args = args.iter().cloned().collect();
        let answer = kgate::policy::guard::call(&name, args).expect("guarded builtin");
        result = vm.resume(Some(answer)).expect("RVM resumes");
    }
    result
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(5000, |a| a.parse().expect("OBJECTS"));
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("ROUNDS"));
    let objects: Vec<Value> = (0..n).map(|i| Value::from(deployment(i))).collect();

    // Interpreter, as kgate's PolicySet uses it: one prepared engine, input set per object.
    let mut interp = engine();
    let mut expected = Vec::with_capacity(n);
    for o in &objects {
        interp.set_input(o.clone());
        let found: Vec<Value> = RULES
            .iter()
            .map(|r| {
                interp
                    .eval_rule((*r).to_string())
                    .expect("interpreter evaluates")
            })
            .collect();
        expected.push(found);
    }
    let findings: usize = expected
        .iter()
        .flatten()
        .map(|v| v.as_set().map_or(0, |s| s.len()))
        .sum();

    // The interpreter as kgate runs it: its size guards in front of sprintf & co. (engine
    // extensions, which the RVM does not call: see the note in /work/notes or the README).
    let mut guarded = engine();
    kgate::policy::guard::add_to(&mut guarded).expect("guards register");

    // RVM: compile both entry points once, then set the input and run each entry point.
    let started = Instant::now();
    let mut compiler = engine();
    let policy = compiler
        .compile_with_entrypoint(&RULES[0].into())
        .expect("policy compiles");
    let program = Compiler::compile_from_policy(&policy, &RULES).expect("RVM program");
    let compile_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut vm = RegoVM::new();
    vm.load_program(program);
    for (o, want) in objects.iter().zip(&expected) {
        vm.set_input(o.clone());
        for (r, w) in RULES.iter().zip(want) {
            let got = vm.execute_entry_point_by_name(r).expect("RVM evaluates");
            assert_eq!(&got, w, "RVM and interpreter disagree on {r}");
        }
    }

    // RVM with kgate's guards: each guarded builtin (sprintf, numbers.range, …) is a host-await
    // builtin; the VM runs suspendable and suspends at each call, which the host answers with
    // the guarded builtin (`policy::guard::call`), as the interpreter's extensions do.
    let host: Vec<(&str, usize)> = kgate::policy::guard::guarded()
        .map(|(name, n)| (name, usize::from(n)))
        .collect();
    let guarded_program = Compiler::compile_from_policy_with_host_await(&policy, &RULES, &host)
        .expect("RVM program with host-await builtins");
    let mut gvm = RegoVM::new();
    gvm.load_program(guarded_program);
    gvm.set_execution_mode(ExecutionMode::Suspendable);
    for (o, want) in objects.iter().zip(&expected) {
        gvm.set_input(o.clone());
        for (r, w) in RULES.iter().zip(want) {
            assert_eq!(
                &run_guarded(&mut gvm, r),
                w,
                "guarded RVM and interpreter disagree on {r}"
            );
        }
    }

    println!(
        "{n} Deployments, {} rules ({findings} findings), best of {rounds} rounds; RVM compile {compile_ms:.1} ms",
        RULES.len()
    );
    let best = |name: &str, run: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let t = Instant::now();
            run();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{name:<12} {:>10.0} documents/s  ({:.1} ms)",
            n as f64 / best,
            best * 1e3
        );
    };
    best("interpreter", &mut || {
        for o in &objects {
            interp.set_input(o.clone());
            for r in RULES {
                std::hint::black_box(interp.eval_rule(r.to_string()).unwrap());
            }
        }
    });
    best("interp+guard", &mut || {
        for o in &objects {
            guarded.set_input(o.clone());
            for r in RULES {
                std::hint::black_box(guarded.eval_rule(r.to_string()).unwrap());
            }
        }
    });
    best("rvm+guard", &mut || {
        for o in &objects {
            gvm.set_input(o.clone());
            for r in RULES {
                std::hint::black_box(run_guarded(&mut gvm, r));
            }
        }
    });
    best("rvm", &mut || {
        for o in &objects {
            vm.set_input(o.clone());
            for r in RULES {
                std::hint::black_box(vm.execute_entry_point_by_name(r).unwrap());
            }
        }
    });
}
