//! The YAML loader on arbitrary bytes: decoding, the span-keeping parser, Kubernetes scalar
//! rules, merge keys, object collection, span lookups and secret detection.
#![no_main]

use kgate::source::Files;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = Files::new();
    let Ok(text) = kgate::load::decode("fuzz.yaml", data) else {
        return;
    };
    let file = files.add("fuzz.yaml", text);
    let loaded = kgate::load::load_file(&files, &file, &Limits::default());
    for m in &loaded.manifests {
        // Every pointer that names a field of the object resolves to a span in the file.
        for pointer in [
            "",
            "/metadata/name",
            "/spec/template/spec/containers/0/image",
            "/x~1y",
        ] {
            check_span(&file.text, m.span_at(pointer));
        }
        let _ = m.node.to_json();
        let _ = kgate::redact::find_secrets(m);
    }
    for d in &loaded.diagnostics {
        if let Some(span) = d.span {
            check_span(&file.text, span);
        }
    }
});

/// Reporters slice the source by a span's byte offsets: they must lie on characters of the text.
fn check_span(text: &str, span: kgate::source::Span) {
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "span {span:?} is not on character boundaries of a {}-byte text",
        text.len()
    );
}
