//! YAML output as data, for suites that compare rendered documents (kgate's own reader; a
//! syntax problem fails the test).

use serde_json::Value;

/// The documents of a YAML stream as JSON values, in order (empty documents left out).
pub fn yaml_docs(text: &str) -> Vec<Value> {
    let f = kgate::source::SourceFile::new("out.yaml", text.to_string());
    let stream = kgate::yaml::parse_stream(&f, &Default::default());
    assert!(stream.problems.is_empty(), "{:?}", stream.problems);
    stream
        .documents
        .into_iter()
        .filter_map(|d| d.root)
        .map(|n| n.to_json())
        .collect()
}
