//! The Rego input conversion: YAML → `Manifest` (its JSON value) → regorus `Value`, then the
//! built-in policy pack evaluated on it by both engines (its Rego through regorus, and its
//! compiled form), which must agree finding for finding.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kgate::policy::{BuiltinEngine, PolicyOptions, PolicySet};
use kgate::source::Files;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

/// The built-in pack, prepared once (a check run also prepares once and clones per worker).
fn policies(engine: BuiltinEngine) -> &'static PolicySet {
    static REGO: OnceLock<PolicySet> = OnceLock::new();
    static NATIVE: OnceLock<PolicySet> = OnceLock::new();
    let cell = match engine {
        BuiltinEngine::Rego => &REGO,
        BuiltinEngine::Native => &NATIVE,
    };
    cell.get_or_init(|| {
        let opts = PolicyOptions {
            builtin_engine: engine,
            ..PolicyOptions::default()
        };
        let (mut set, problems) = PolicySet::load(&opts, None).expect("the built-in pack loads");
        assert!(problems.is_empty(), "{problems:?}");
        let namespaced = BTreeMap::from([
            ("v1/Namespace".to_string(), false),
            ("apps/v1/Deployment".to_string(), true),
            ("v1/Pod".to_string(), true),
        ]);
        set.prepare(namespaced).expect("the built-in pack prepares");
        set
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = Files::new();
    let file = files.add("input.yaml", text);
    let loaded = kgate::load::load_file(&files, &file, &Limits::default());
    let set = policies(BuiltinEngine::Rego);
    let native = policies(BuiltinEngine::Native);
    let mut engine = set.engine();
    let mut native_engine = native.engine();
    let key = |d: &kgate::diagnostic::Diagnostic| {
        format!("{} {:?} {} {:?} {:?}", d.code, d.severity, d.message, d.path, d.span)
    };
    for m in &loaded.manifests {
        let value = regorus::Value::from(m.json.clone());
        // The conversion keeps the object's shape: back to JSON, a map stays a map.
        let back = serde_json::to_value(&value).expect("a converted value serialises");
        assert_eq!(back.is_object(), m.json.is_object());
        let found = set.evaluate(&mut engine, m);
        let mut a: Vec<String> = found.iter().map(key).collect();
        let mut b: Vec<String> = native.evaluate(&mut native_engine, m).iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "the Rego pack (left) and the compiled pack (right) differ on {}", m.json);
        for d in found {
            // A built-in rule failing to evaluate on some input is a kgate bug, not a finding.
            assert!(
                !kgate::rules::is_tool_failure(&d.code),
                "built-in policy failed on {}: {d:?}",
                m.json
            );
            if let Some(span) = d.span {
                assert!(span.end <= file.text.len() && file.text.is_char_boundary(span.start));
            }
        }
    }
});
