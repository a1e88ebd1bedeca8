//! The Rego input conversion: YAML → `Manifest` (its JSON value) → regorus `Value`, then the
//! built-in policy pack evaluated on it, the way every object of a check run is evaluated.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kgate::policy::{PolicyOptions, PolicySet};
use kgate::source::Files;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

/// The built-in pack, prepared once (a check run also prepares once and clones per worker).
fn policies() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let (mut set, problems) =
            PolicySet::load(&PolicyOptions::default(), None).expect("the built-in pack loads");
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
    let set = policies();
    let mut engine = set.engine();
    for m in &loaded.manifests {
        let value = regorus::Value::from(m.json.clone());
        // The conversion keeps the object's shape: back to JSON, a map stays a map.
        let back = serde_json::to_value(&value).expect("a converted value serialises");
        assert_eq!(back.is_object(), m.json.is_object());
        for d in set.evaluate(&mut engine, m) {
            // A built-in rule failing to evaluate on some input is a kgate bug, not a finding.
            assert!(
                !kgate::policy::is_tool_failure(&d.code),
                "built-in policy failed on {}: {d:?}",
                m.json
            );
            if let Some(span) = d.span {
                assert!(span.end <= file.text.len() && file.text.is_char_boundary(span.start));
            }
        }
    }
});
