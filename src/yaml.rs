//! A span-keeping YAML tree, built the way Kubernetes reads YAML.
//!
//! Kubernetes (sigs.k8s.io/yaml over go-yaml v2) resolves plain scalars by YAML 1.1 rules
//! (`yes`/`on` are booleans, `0755` is 493, `1_000` is 1000), applies `<<` merge keys, and expands
//! aliases. We build our own tree from saphyr's event stream so that every node keeps its span,
//! duplicate keys are reported with both positions, and hostile input (alias bombs, deep nesting)
//! hits a budget instead of exhausting memory or the stack.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan, Tag};

use crate::source::{SourceFile, Span};

/// Bounds that keep one hostile document from taking the run down (see `crate::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nodes one document may expand to (aliases included).
    pub max_nodes: usize,
    /// Nesting depth of collections.
    pub max_depth: usize,
    /// Documents in one file.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 1_000_000,
            max_depth: 200,
            max_documents: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Keys are strings, as after Kubernetes' YAML → JSON conversion. The key node's span is kept
    /// so findings can point at `key:`.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key node of `key` in this mapping.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, _)| k.span),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Follows a path of map keys / sequence indexes; returns the deepest node reached and how
    /// many segments were resolved (so a finding about a missing field can point at its parent).
    pub fn walk<'a, S: AsRef<str>>(&'a self, segments: &[S]) -> (&'a Node, usize) {
        let mut node = self;
        for (i, seg) in segments.iter().enumerate() {
            let seg = seg.as_ref();
            let next = match &node.value {
                Value::Map(_) => node.get(seg),
                Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, i),
            }
        }
        (node, segments.len())
    }

    /// The span to report for a JSON pointer: the value if it exists, else the key of the
    /// deepest existing parent (a missing field points at the object that lacks it).
    pub fn span_at_pointer(&self, pointer: &str) -> Span {
        let segments = split_pointer(pointer);
        let (node, depth) = self.walk(&segments);
        if depth == segments.len() {
            return node.span;
        }
        node.span
    }

    /// The span of the key for the field at `pointer`, when the last segment is a map key.
    pub fn key_span_at_pointer(&self, pointer: &str) -> Option<Span> {
        let segments = split_pointer(pointer);
        let (last, parent) = segments.split_last()?;
        let (node, depth) = self.walk(parent);
        if depth != parent.len() {
            return None;
        }
        node.key_span(last)
    }

    /// Converts to JSON as Kubernetes would see it.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            // Go's encoding/json writes a whole float without a fraction, so `replicas: 1.0`
            // reaches the API server as the integer 1.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => J::from(*f as i64),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                // .inf / .nan cannot be encoded in JSON: the API server rejects them too.
                .unwrap_or_else(|| J::String(format!("{f}"))),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Number of nodes in this subtree (used to budget alias expansion).
    fn weight(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::weight).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.weight()).sum::<usize>(),
            _ => 1,
        }
    }
}

/// Splits a JSON pointer (`/spec/containers/0/image`) into unescaped segments.
pub fn split_pointer(pointer: &str) -> Vec<String> {
    if pointer.is_empty() || pointer == "/" {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Escapes one JSON pointer segment.
pub fn escape_pointer_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// Appends `/` and the escaped segment `s` to `pointer` (no allocation when `pointer` has room).
pub fn push_pointer_segment(pointer: &mut String, s: &str) {
    pointer.push('/');
    push_escaped(pointer, s);
}

fn push_escaped(out: &mut String, s: &str) {
    if !s.contains(['~', '/']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// One YAML document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// `None` for an empty document (`---` followed by nothing, or only comments).
    pub root: Option<Node>,
    /// Span of the whole document, for findings about it as a whole.
    pub span: Span,
}

/// What went wrong while reading YAML. Each maps to a diagnostic code in `load`.
#[derive(Debug, Clone, PartialEq)]
pub enum YamlProblem {
    Syntax {
        message: String,
        span: Span,
    },
    DuplicateKey {
        key: String,
        first: Span,
        second: Span,
    },
    Limit {
        message: String,
        span: Span,
    },
}

/// The documents of a stream and the problems met. A syntax error drops the document it is in;
/// parsing resumes at the next `---` line, so one bad document never hides the others.
#[derive(Debug, Default)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub problems: Vec<YamlProblem>,
}

/// Parses a whole file.
pub fn parse_stream(file: &SourceFile, limits: &Limits) -> Stream {
    let mut out = Stream::default();
    let text: &str = &file.text;
    // Parse from `offset` (a byte offset at a line start) to the end; on a syntax error,
    // restart after the next document marker.
    let mut offset = 0usize;
    let mut line_base = 0usize;
    loop {
        let chunk = &text[offset..];
        let mut builder = Builder::new(file, line_base, limits);
        let result = builder.run(chunk);
        let documents = std::mem::take(&mut builder.documents);
        let problems = std::mem::take(&mut builder.problems);
        out.documents.extend(documents);
        out.problems.extend(problems);
        if out.documents.len() > limits.max_documents {
            out.documents.truncate(limits.max_documents);
            out.problems.push(YamlProblem::Limit {
                message: format!(
                    "more than {} documents in one file; the rest of the file was not read (limit: --max-documents / `max_documents`)",
                    limits.max_documents
                ),
                span: file.span_at_byte(0),
            });
            break;
        }
        match result {
            Ok(()) => break,
            Err(Stop::Fatal) => break,
            Err(Stop::Syntax(err_line)) => {
                // err_line is an absolute 1-based line. Find the next line starting with `---`
                // after it and resume there.
                // The parser often notices an error only at the next `---`: resume there, but
                // always move forward.
                let next = next_document_marker(text, file, err_line)
                    .filter(|&(byte, _)| byte > offset)
                    .or_else(|| next_document_marker(text, file, err_line + 1));
                match next {
                    Some((byte, line)) => {
                        offset = byte;
                        line_base = line - 1;
                    }
                    None => break,
                }
            }
        }
    }
    out
}

/// The byte offset and 1-based line of the first `---` document marker at or after `line`.
fn next_document_marker(text: &str, file: &SourceFile, line: usize) -> Option<(usize, usize)> {
    let start = file.byte_offset(line, 0);
    if start >= text.len() {
        return None;
    }
    let mut pos = start;
    for (line_no, l) in (line..).zip(text[start..].split_inclusive('\n')) {
        if l.starts_with("---")
            && l[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
            return Some((pos, line_no));
        }
        pos += l.len();
    }
    None
}

enum Stop {
    /// A syntax error at this absolute line: resume after it.
    Syntax(usize),
    /// A limit was hit in a way that makes the rest of the stream unreadable.
    Fatal,
}

/// A collection being built.
enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        /// Keys merged in with `<<`: applied when the mapping ends, after explicit keys.
        merges: Vec<Node>,
        pending_key: Option<Node>,
        /// Key → position in `entries`, built once the mapping is large, so that the duplicate
        /// check stays linear for a hostile mapping with 100,000 keys.
        index: Option<HashMap<String, usize>>,
    },
}

/// Mappings with at least this many keys get a hash index for the duplicate-key check.
const INDEX_FROM: usize = 32;

struct Builder<'f> {
    file: &'f SourceFile,
    line_base: usize,
    limits: &'f Limits,
    documents: Vec<Document>,
    problems: Vec<YamlProblem>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    doc_start: Span,
    root: Option<Node>,
    /// Set when the current document broke a limit: its remaining events are skipped.
    poisoned: bool,
}

impl<'f> Builder<'f> {
    fn new(file: &'f SourceFile, line_base: usize, limits: &'f Limits) -> Self {
        Builder {
            file,
            line_base,
            limits,
            documents: Vec::new(),
            problems: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            doc_start: Span::default(),
            root: None,
            poisoned: false,
        }
    }

    fn span(&self, s: &YSpan) -> Span {
        let (start, end) = (
            s.start.line() + self.line_base,
            s.end.line() + self.line_base,
        );
        self.file.span(start, s.start.col(), end, s.end.col())
    }

    fn scan_error_span(&self, e: &ScanError) -> Span {
        let m = e.marker();
        let line = m.line() + self.line_base;
        let col = m.col();
        self.file.span(line, col, line, col)
    }

    fn run(&mut self, text: &str) -> Result<(), Stop> {
        let mut parser = Parser::new_from_str(text);
        let mut in_document = false;
        loop {
            let (event, yspan) = match parser.next_event() {
                None => return Ok(()),
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    let span = self.scan_error_span(&e);
                    if e.info().contains("recursion limit") {
                        self.problems.push(YamlProblem::Limit {
                            message:
                                "nesting too deep for the YAML parser; the document was not checked (limit: the YAML parser's own bound on flow nesting, which --max-depth cannot raise)"
                                    .into(),
                            span,
                        });
                    } else {
                        self.problems.push(YamlProblem::Syntax {
                            message: e.info().to_string(),
                            span,
                        });
                    }
                    return Err(Stop::Syntax(span.line as usize));
                }
            };
            let span = self.span(&yspan);
            match event {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(()),
                Event::DocumentStart(_) => {
                    in_document = true;
                    self.stack.clear();
                    self.anchors.clear();
                    self.nodes = 0;
                    self.root = None;
                    self.poisoned = false;
                    self.doc_start = span;
                    if self.documents.len() > self.limits.max_documents {
                        return Err(Stop::Fatal);
                    }
                }
                Event::DocumentEnd => {
                    if in_document {
                        let doc_span = match &self.root {
                            Some(root) => self.doc_start.to(root.span),
                            None => self.doc_start,
                        };
                        let root = match self.root.take() {
                            Some(Node {
                                value: Value::Null, ..
                            }) => None,
                            other => other,
                        };
                        if !self.poisoned {
                            self.documents.push(Document {
                                root,
                                span: doc_span,
                            });
                        }
                    }
                    in_document = false;
                }
                _ if self.poisoned => {}
                Event::Alias(id) => {
                    let Some((node, weight)) = self.anchors.get(&id) else {
                        self.problems.push(YamlProblem::Syntax {
                            message: "alias refers to an unknown anchor".into(),
                            span,
                        });
                        self.poisoned = true;
                        continue;
                    };
                    if self.nodes + weight > self.limits.max_nodes {
                        self.limit(
                            span,
                            format!(
                                "aliases expand this document past {} nodes (an alias bomb?); the document was not checked (limit: --max-nodes / `max_nodes`)",
                                self.limits.max_nodes
                            ),
                        );
                        continue;
                    }
                    self.nodes += weight;
                    let mut node = node.clone();
                    // The alias is used here: a finding about the alias's value points at the
                    // anchored value it copies, which is what the author must edit.
                    if matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                        // keep inner spans (the anchored definition)
                    } else {
                        node.span = span;
                    }
                    self.push_node(node, true);
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.nodes += 1;
                    if self.nodes > self.limits.max_nodes {
                        self.limit(
                            span,
                            format!(
                                "document has more than {} nodes; it was not checked (limit: --max-nodes / `max_nodes`)",
                                self.limits.max_nodes
                            ),
                        );
                        continue;
                    }
                    let value = resolve_scalar(&text, style, tag.as_deref());
                    let node = Node { span, value };
                    if anchor > 0 {
                        self.anchors.insert(anchor, (node.clone(), 1));
                    }
                    self.push_node(node, false);
                }
                Event::SequenceStart(anchor, _) => {
                    if self.enter(span) {
                        self.stack.push(Frame::Seq {
                            start: span,
                            anchor,
                            items: Vec::new(),
                        });
                    }
                }
                Event::MappingStart(anchor, _) => {
                    if self.enter(span) {
                        self.stack.push(Frame::Map {
                            start: span,
                            anchor,
                            entries: Vec::new(),
                            merges: Vec::new(),
                            pending_key: None,
                            index: None,
                        });
                    }
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        continue;
                    };
                    let (node, anchor) = match frame {
                        Frame::Seq {
                            start,
                            anchor,
                            items,
                        } => {
                            let end = items.last().map(|n| n.span).unwrap_or(start);
                            (
                                Node {
                                    span: start.to(if span.end > end.end { span } else { end }),
                                    value: Value::Seq(items),
                                },
                                anchor,
                            )
                        }
                        Frame::Map {
                            start,
                            anchor,
                            mut entries,
                            merges,
                            ..
                        } => {
                            apply_merges(&mut entries, merges);
                            let end = entries.last().map(|(_, n)| n.span).unwrap_or(start);
                            (
                                Node {
                                    span: start.to(if span.end > end.end { span } else { end }),
                                    value: Value::Map(entries),
                                },
                                anchor,
                            )
                        }
                    };
                    if anchor > 0 {
                        let w = node.weight();
                        self.anchors.insert(anchor, (node.clone(), w));
                    }
                    self.push_node(node, false);
                }
            }
        }
    }

    /// Opens a collection; false (and the document poisoned) past the depth limit.
    fn enter(&mut self, span: Span) -> bool {
        self.nodes += 1;
        if self.stack.len() >= self.limits.max_depth {
            self.limit(
                span,
                format!(
                    "nesting deeper than {} levels; the document was not checked (limit: --max-depth / `max_depth`)",
                    self.limits.max_depth
                ),
            );
            return false;
        }
        true
    }

    fn limit(&mut self, span: Span, message: String) {
        self.problems.push(YamlProblem::Limit { message, span });
        self.poisoned = true;
        self.stack.clear();
        self.root = None;
    }

    /// Places a finished node into its parent (or as the document root).
    fn push_node(&mut self, node: Node, from_alias: bool) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                pending_key,
                index,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key_node) => {
                    let is_merge = matches!(&key_node.value, Value::String(s) if s == "<<")
                        && key_node.span.end - key_node.span.start == 2;
                    if is_merge {
                        merges.push(node);
                        return;
                    }
                    let name = key_to_string(&key_node);
                    let first = match index {
                        Some(ix) => ix.get(&name).map(|&i| entries[i].0.span),
                        None => entries
                            .iter()
                            .find(|(k, _)| k.name == name)
                            .map(|(k, _)| k.span),
                    };
                    if let Some(first) = first {
                        self.problems.push(YamlProblem::DuplicateKey {
                            key: name,
                            first,
                            second: key_node.span,
                        });
                        return;
                    }
                    let _ = from_alias;
                    if let Some(ix) = index {
                        ix.insert(name.clone(), entries.len());
                    }
                    entries.push((
                        Key {
                            name,
                            span: key_node.span,
                        },
                        node,
                    ));
                    if index.is_none() && entries.len() >= INDEX_FROM {
                        *index = Some(
                            entries
                                .iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.name.clone(), i))
                                .collect(),
                        );
                    }
                }
            },
        }
    }
}

/// `<<` merges: keys written in the mapping win; among merged mappings the first one wins.
fn apply_merges(entries: &mut Vec<(Key, Node)>, merges: Vec<Node>) {
    for merge in merges {
        let sources: Vec<Node> = match merge.value {
            Value::Map(_) => vec![merge],
            Value::Seq(items) => items,
            _ => continue,
        };
        for source in sources {
            if let Value::Map(merged) = source.value {
                for (k, v) in merged {
                    if !entries.iter().any(|(e, _)| e.name == k.name) {
                        entries.push((k, v));
                    }
                }
            }
        }
    }
}

/// A mapping key as the string Kubernetes' YAML → JSON conversion makes of it.
fn key_to_string(key: &Node) -> String {
    match &key.value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        // Complex keys cannot be represented in JSON; keep something readable.
        other => format!("{other:?}"),
    }
}

/// Resolves a scalar by go-yaml v2's YAML 1.1 rules (what `kubectl apply` and the GitOps agents
/// use). Quoted and block scalars are always strings.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            match tag.suffix.as_str() {
                "str" | "binary" | "timestamp" => return Value::String(text.to_string()),
                "null" => return Value::Null,
                "bool" | "int" | "float" => {
                    return resolve_plain(text);
                }
                _ => {}
            }
        } else if tag.handle == "!" && tag.suffix.is_empty() {
            // The non-specific tag `!` forces a string.
            return Value::String(text.to_string());
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(text.to_string());
    }
    if looks_like_timestamp(text) {
        return Value::String(text.to_string());
    }
    let plain = text.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return Value::Int(i);
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::String(text.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then `0x`/`0o`/`0b` prefixes or a leading
/// `0` for octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(rest) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// go-yaml v2's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// YAML 1.1 timestamps (`2001-12-14`, `2001-12-14T21:59:43.10-05:00`) stay strings: Kubernetes
/// turns them back into text before any field sees them.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && (b[6] == b'-' || (b[6].is_ascii_digit() && b[7] == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Stream {
        parse_stream(&SourceFile::new("t.yaml", text), &Limits::default())
    }

    fn root(text: &str) -> Node {
        let s = parse(text);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        s.documents[0].root.clone().unwrap()
    }

    /// go-yaml reads a quoted scalar whose continuation lines are indented like its key (the
    /// public Gatekeeper library has such templates); so does kgate, with the value and the
    /// positions of the real file.
    #[test]
    fn quoted_scalars_continued_at_the_key_indentation_read_as_go_yaml_does() {
        let text = "a:\n  d: \"defaults\n  to \\\"false\\\".\"\n  s:\n  - k: 'it''s\n    multi'\n  n: 5\n---\nb: \"x\n y\"\n";
        let s = parse(text);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        let json = s.documents[0].root.clone().unwrap().to_json();
        assert_eq!(json["a"]["d"], "defaults to \"false\".");
        assert_eq!(json["a"]["s"][0]["k"], "it's multi");
        assert_eq!(s.documents[1].root.clone().unwrap().to_json()["b"], "x y");
        let d = s.documents[0].root.clone().unwrap();
        let Value::Map(entries) = &d.value else {
            panic!()
        };
        let Value::Map(a) = &entries[0].1.value else {
            panic!()
        };
        // The scalar starts at the quote on line 2 and ends after the quote on line 3.
        let span = a[0].1.span;
        assert_eq!(
            (span.line, span.col, span.end_line, span.end_col),
            (2, 6, 3, 17)
        );
        let n = a[2].1.span;
        assert_eq!((n.line, n.col), (7, 6));
    }

    /// go-yaml does not check indentation inside flow collections: a flow sequence may close
    /// at its key's column and its items may sit left of it. Spans still point at the items.
    #[test]
    fn flow_collections_ignore_indentation_as_go_yaml_does() {
        let text = "spec:\n  args: [\n    \"--a\",\n  \"--b\",\n]\n  labels: {a: b,\nc: d\n  }\n";
        let s = parse(text);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        let root = s.documents[0].root.clone().unwrap();
        assert_eq!(
            root.to_json()["spec"]["args"],
            serde_json::json!(["--a", "--b"])
        );
        assert_eq!(
            root.to_json()["spec"]["labels"],
            serde_json::json!({"a": "b", "c": "d"})
        );
        let b = root.span_at_pointer("/spec/args/1");
        assert_eq!((b.line, b.col), (4, 3));
        let c = root.span_at_pointer("/spec/labels/c");
        assert_eq!((c.line, c.col), (7, 4));
    }

    #[test]
    fn an_unterminated_quote_is_still_a_syntax_error() {
        let s = parse("a:\n  d: \"open\n  b: 1\n---\nc: 2\n");
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert_eq!(s.documents.len(), 1);
    }

    #[test]
    fn yaml_1_1_scalars_resolve_as_kubernetes_does() {
        let r = root("a: yes\nb: on\nc: 0755\nd: 1_000\ne: '0755'\nf: 1e3\ng: 0x1F\nh: ~\ni: 1.5\nj: 12:30\nk: 2001-12-14\nl: N\n");
        let j = r.to_json();
        assert_eq!(j["a"], true);
        assert_eq!(j["b"], true);
        assert_eq!(j["c"], 493);
        assert_eq!(j["d"], 1000);
        assert_eq!(j["e"], "0755");
        assert_eq!(j["f"], 1000);
        assert_eq!(j["g"], 31);
        assert!(j["h"].is_null());
        assert_eq!(j["i"], 1.5);
        assert_eq!(j["j"], "12:30");
        assert_eq!(j["k"], "2001-12-14");
        assert_eq!(j["l"], false);
    }

    #[test]
    fn spans_are_one_based() {
        let r = root("metadata:\n  name: web\n");
        let name = r.get("metadata").unwrap().get("name").unwrap();
        assert_eq!((name.span.line, name.span.col), (2, 9));
        assert_eq!(
            r.get("metadata")
                .unwrap()
                .key_span("name")
                .map(|s| (s.line, s.col)),
            Some((2, 3))
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let r = root("base: &b\n  x: 1\n  z: 2\nname: &n web\nobj:\n  <<: *b\n  z: 3\n  app: *n\n");
        let j = r.to_json();
        assert_eq!(j["obj"]["x"], 1);
        assert_eq!(j["obj"]["z"], 3);
        assert_eq!(j["obj"]["app"], "web");
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let s = parse("a: 1\nb: 2\na: 3\n");
        match &s.problems[0] {
            YamlProblem::DuplicateKey { key, first, second } => {
                assert_eq!(key, "a");
                assert_eq!(first.line, 1);
                assert_eq!(second.line, 3);
            }
            p => panic!("{p:?}"),
        }
        // The first value is kept, as a strict reader would refuse the document anyway.
        assert_eq!(s.documents[0].root.as_ref().unwrap().to_json()["a"], 1);
    }

    #[test]
    fn syntax_error_does_not_hide_later_documents() {
        let s = parse("a: 1\n---\nb: [1, 2\n---\nc: 3\n");
        assert_eq!(s.problems.len(), 1);
        assert!(matches!(s.problems[0], YamlProblem::Syntax { .. }));
        let docs: Vec<_> = s.documents.iter().filter_map(|d| d.root.clone()).collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].to_json()["c"], 3);
        assert_eq!(docs[1].span.line, 5);
    }

    #[test]
    fn alias_bomb_hits_the_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let s = parse(&text);
        assert!(matches!(s.problems[0], YamlProblem::Limit { .. }));
        assert!(s.documents.is_empty());
    }

    #[test]
    fn deep_nesting_hits_the_limit_without_overflow() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let s = parse(&text);
        assert!(matches!(s.problems[0], YamlProblem::Limit { .. }));
    }

    #[test]
    fn empty_documents_have_no_root() {
        let s = parse("---\n# only a comment\n---\na: 1\n");
        assert_eq!(s.documents.len(), 2);
        assert!(s.documents[0].root.is_none());
    }
}
