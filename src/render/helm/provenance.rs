//! Where a chart-rendered value came from. The evaluator's source map records which `.Values`
//! paths each action printed; here those paths are traced to the line of the values document
//! that set them — last writer in the merge order — so a finding on a chart's object points at
//! the template line *and* (as a `related` location, like every other second position kgate
//! reports) at the HelmRelease `spec.values` / `valuesFrom` ConfigMap / Argo CD values file /
//! kustomize `valuesInline` line. A value that came from the chart's own `values.yaml` points
//! there when the chart is a folder of the repository (the user can change it there); a chart
//! from the chart cache is nobody's file in the repository, so only the template is given.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::exec::{Mark, Seg, VPath};
use crate::diagnostic::{Diagnostic, Related};
use crate::manifest::Manifest;
use crate::source::{Files, SourceFile};
use crate::yaml::{self, Node};

/// One values document of a release, in merge order.
struct ValueSource {
    /// What it is, for the message: `HelmRelease spec.values`, `values file (valueFiles)`.
    label: String,
    /// The file its spans are in; `None`: the file of each span (a manifest's node, whose
    /// fields may come from an overlay's patch).
    file: Option<String>,
    /// Where the document sits in the values (Flux `targetPath`, an Argo CD parameter's name).
    prefix: VPath,
    root: Node,
    /// Added to the document's (line, column): a YAML document inside a literal block scalar.
    shift: (u32, u32),
    /// Every value of this document points here (a Secret's data key: its text is encoded).
    fixed: Option<(String, u32, u32)>,
}

/// The values documents of one release, lowest priority first.
#[derive(Default)]
pub struct ValueSources {
    list: Vec<ValueSource>,
}

/// `image.tag`, `env[0].value` — how a values path is shown.
pub fn show_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Idx(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Splits a dotted values path (`image.tag`, as Flux `targetPath` and `--set` write them).
pub fn dotted(path: &str) -> VPath {
    path.split('.')
        .filter(|p| !p.is_empty())
        .map(|p| Seg::Key(p.into()))
        .collect()
}

impl ValueSources {
    /// A values mapping that is part of a manifest (`spec.values`, `valuesObject`,
    /// `valuesInline`): its spans name their own files.
    pub fn push_node(&mut self, label: impl Into<String>, root: &Node, prefix: VPath) {
        self.list.push(ValueSource {
            label: label.into(),
            file: None,
            prefix,
            root: root.clone(),
            shift: (0, 0),
            fixed: None,
        });
    }

    /// A values file of the repository (`valueFiles`, `valuesFile`, the chart's `values.yaml`).
    pub fn push_file(&mut self, label: impl Into<String>, display: &str, text: &str) {
        if let Some(root) = parse(display, text) {
            self.list.push(ValueSource {
                label: label.into(),
                file: Some(display.to_string()),
                prefix: Vec::new(),
                root,
                shift: (0, 0),
                fixed: None,
            });
        }
    }

    /// A YAML document held in a string field of a manifest (a ConfigMap's `values.yaml` key,
    /// Argo CD `helm.values`): positions inside a literal block scalar (`|`) are moved to the
    /// manifest's file; any other style points every value at the field itself. `prefix` is
    /// where the document lands (`targetPath`), and a document that is not YAML (a
    /// `targetPath` value) is the field's node itself.
    pub fn push_embedded(
        &mut self,
        files: &Files,
        label: impl Into<String>,
        field: &Node,
        text: &str,
        prefix: VPath,
        secret: bool,
    ) {
        let label = label.into();
        let Some(outer) = files.get(field.span.file) else {
            return;
        };
        let at_field = Some((outer.path.clone(), field.span.line, field.span.col));
        let source = |root: Node, file, shift, fixed| ValueSource {
            label: label.clone(),
            file,
            prefix: prefix.clone(),
            root,
            shift,
            fixed,
        };
        let s = if !prefix.is_empty() {
            // One value at `targetPath`: the field itself.
            source(
                field.clone(),
                None,
                (0, 0),
                secret.then_some(at_field).flatten(),
            )
        } else {
            let Some(root) = parse("", text) else { return };
            match block_shift(&outer, field, text).filter(|_| !secret) {
                Some(shift) => source(root, Some(outer.path.clone()), shift, None),
                None => source(root, None, (0, 0), at_field),
            }
        };
        self.list.push(s);
    }

    /// The chart's own defaults: `values.yaml` of the chart folder `dir` and of its subchart
    /// folders (lowest first: a parent's `sub.x` overrides the subchart's `x`).
    pub fn push_chart_defaults(&mut self, vfs: &dyn crate::vfs::Vfs, dir: &str, max: u64) {
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else {
                format!("{a}/{b}")
            }
        };
        let read = |p: &str| {
            vfs.read(p, max)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let subs = join(dir, "charts");
        for name in vfs.list_dir(&subs).unwrap_or_default() {
            let f = join(&join(&subs, &name), "values.yaml");
            if let Some(text) = read(&f) {
                if let Some(root) = parse(&vfs.display(&f), &text) {
                    self.list.push(ValueSource {
                        label: format!("the default of subchart `{name}`"),
                        file: Some(vfs.display(&f)),
                        prefix: vec![Seg::Key(name.as_str().into())],
                        root,
                        shift: (0, 0),
                        fixed: None,
                    });
                }
            }
        }
        let f = join(dir, "values.yaml");
        if let Some(text) = read(&f) {
            self.push_file("the chart's default", &vfs.display(&f), &text);
        }
    }

    /// Adds `other`'s documents after these (they win).
    pub fn append(&mut self, other: ValueSources) {
        self.list.extend(other.list);
    }

    /// Where the value at `path` was last set, as a related location.
    pub fn locate(&self, files: &Files, path: &[Seg]) -> Option<Related> {
        for s in self.list.iter().rev() {
            let Some(rest) = path.strip_prefix(s.prefix.as_slice()) else {
                continue;
            };
            let Some(span) = find(&s.root, rest) else {
                continue;
            };
            let message = format!("`{}` is set here ({})", show_path(path), s.label);
            if let Some((file, line, column)) = &s.fixed {
                return Some(Related {
                    message,
                    file: file.clone(),
                    line: *line,
                    column: *column,
                });
            }
            let file = s.file.clone().unwrap_or_else(|| files.path(span.file));
            if file.is_empty() {
                return None;
            }
            return Some(Related {
                message,
                file,
                line: span.line + s.shift.0,
                column: span.col + s.shift.1,
            });
        }
        None
    }
}

fn parse(display: &str, text: &str) -> Option<Node> {
    let f = SourceFile::new(display, text);
    let stream = yaml::parse_stream(&f, &yaml::Limits::default());
    stream.documents.into_iter().next()?.root
}

/// The span of the value at `path` in a values document: the value for a scalar (an overlay's
/// patch of a release's values replaces the value, not the key), the key for a collection
/// (whose own span starts on the line below).
fn find(root: &Node, path: &[Seg]) -> Option<crate::source::Span> {
    let mut node = root;
    let mut key_span = None;
    for seg in path {
        match (seg, &node.value) {
            (Seg::Key(k), yaml::Value::Map(entries)) => {
                let (key, v) = entries.iter().find(|(key, _)| key.name == **k)?;
                key_span = Some(key.span);
                node = v;
            }
            (Seg::Idx(i), yaml::Value::Seq(items)) => {
                node = items.get(*i)?;
                key_span = None;
            }
            _ => return None,
        }
    }
    Some(match (&node.value, key_span) {
        (yaml::Value::Map(_) | yaml::Value::Seq(_), Some(k)) if k.file == node.span.file => k,
        _ => node.span,
    })
}

/// For a literal block scalar (`key: |`) holding `text`: (lines, columns) to add to a position in
/// `text` to get the position in the file. `None` when the field is not such a block, or its
/// lines are not `text`'s lines indented (a folded or quoted string).
fn block_shift(outer: &SourceFile, field: &Node, text: &str) -> Option<(u32, u32)> {
    let body = outer.text.get(field.span.start..)?;
    // The scalar's span starts at its `|` indicator or at its first content line.
    let (content, first_line) = if body.starts_with('|') {
        (&body[body.find('\n')? + 1..], field.span.line + 1)
    } else {
        let line_start = outer.text[..field.span.start]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let before = &outer.text[line_start..field.span.start];
        let above = outer.text[..line_start.saturating_sub(1)]
            .rsplit('\n')
            .next()
            .unwrap_or("");
        let indicator = above.trim_end().rsplit(' ').next().unwrap_or("");
        if !before.trim().is_empty() || !indicator.starts_with('|') {
            return None;
        }
        (&outer.text[line_start..], field.span.line)
    };
    let first = content.lines().find(|l| !l.trim().is_empty())?;
    let indent = first.len() - first.trim_start_matches(' ').len();
    // Every line of the document is the file's line with the block's indentation removed.
    for (inner, line) in text.lines().zip(content.lines()) {
        let stripped = line.get(indent.min(line.len())..).unwrap_or("");
        if inner != stripped && !(inner.trim().is_empty() && line.trim().is_empty()) {
            return None;
        }
    }
    Some((first_line - 1, indent as u32))
}

/// The values lines of a chart's object's fields (the type lives with the object it annotates).
pub use crate::manifest::ValueOrigins as Origins;

/// Adds the values line to each finding on `m` that concerns a field whose value came from
/// release values (its path, or the nearest existing parent, as the finding's position).
pub fn annotate(m: &Manifest, diags: &mut [Diagnostic]) {
    let Some(origins) = &m.value_origins else {
        return;
    };
    for d in diags.iter_mut() {
        let Some(path) = &d.path else { continue };
        if d.resource.as_ref() != Some(&m.resource) {
            continue;
        }
        let segments = yaml::split_pointer(path);
        let (node, depth) = m.node.walk(&segments);
        let at: String = segments[..depth]
            .iter()
            .map(|s| format!("/{}", yaml::escape_pointer_segment(s)))
            .collect();
        let Some((file, start, related)) = origins.by_pointer.get(&at) else {
            continue;
        };
        if node.span.file != *file || node.span.start != *start {
            continue;
        }
        for r in related {
            if !d.related.contains(r) {
                d.related.push(r.clone());
            }
        }
    }
}

/// The `.Values` prefix of a template's chart: `root/charts/sub/templates/x.yaml` reads the
/// parent's `sub` values.
pub fn chart_prefix(template: &str) -> VPath {
    let mut out = Vec::new();
    let mut parts = template.split('/').skip(1);
    while let Some(p) = parts.next() {
        if p != "charts" {
            break;
        }
        match parts.next() {
            Some(name) => out.push(Seg::Key(name.into())),
            None => break,
        }
    }
    out
}

/// The `.Values` paths each node of a rendered document (spans in the rendered text) came
/// from, by JSON pointer: a node inside one action's output (`toYaml .Values.resources`) is
/// that path plus its place inside the value; a scalar made of several actions
/// (`{{ .Values.image.repository }}:{{ .Values.image.tag }}`) comes from all of them.
pub fn node_paths(root: &Node, marks: &[Mark], text: &str) -> Vec<(String, Vec<VPath>)> {
    let mut out = Vec::new();
    if marks.iter().any(|m| m.values.is_some()) {
        visit(root, String::new(), None, marks, text, &mut out);
    }
    out
}

fn visit(
    n: &Node,
    ptr: String,
    inherited: Option<(usize, Vec<VPath>)>,
    marks: &[Mark],
    text: &str,
    out: &mut Vec<(String, Vec<VPath>)>,
) {
    let (start, end) = (n.span.start, n.span.end);
    let end_of = |i: usize| marks.get(i + 1).map(|m| m.out).unwrap_or(text.len());
    let i = marks.partition_point(|m| m.out <= start).checked_sub(1);
    // Inside one action's output (trailing whitespace of a block node aside).
    let inside = i.filter(|&i| {
        let region_end = end_of(i);
        end <= region_end
            || text
                .get(region_end..end)
                .is_some_and(|t| t.trim().is_empty())
    });
    let own: Option<(usize, Vec<VPath>)> = match inside {
        Some(i) => marks[i].values.as_ref().map(|v| match inherited {
            Some((pi, paths)) if pi == i => (i, paths),
            _ => (i, v.to_vec()),
        }),
        None if !matches!(n.value, yaml::Value::Map(_) | yaml::Value::Seq(_)) => {
            let paths: Vec<VPath> = marks
                .iter()
                .enumerate()
                .filter(|(j, m)| m.out < end && end_of(*j) > start)
                .filter_map(|(_, m)| m.values.as_ref())
                .flat_map(|v| v.iter().cloned())
                .collect();
            (!paths.is_empty()).then_some((usize::MAX, paths))
        }
        None => None,
    };
    if let Some((_, paths)) = &own {
        out.push((ptr.clone(), paths.clone()));
    }
    let child = |seg: Seg| {
        own.as_ref().map(|(i, paths)| {
            let extended = paths
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.push(seg.clone());
                    p
                })
                .collect();
            (*i, extended)
        })
    };
    // A collection that is not one action's output may still hold one's entries (literal items
    // followed by `{{ toYaml .Values.extra | nindent 2 }}`): an entry whose key (or `- `) is in
    // the action's output is that value's entry, its place counted within that output.
    let region_at = |pos: usize| {
        marks
            .partition_point(|m| m.out <= pos)
            .checked_sub(1)
            .filter(|&r| marks[r].values.is_some())
    };
    let entry_of = |r: usize, seg: Seg| {
        let paths = marks[r]
            .values
            .as_ref()
            .map(|v| v.to_vec())
            .unwrap_or_default();
        let extended = paths
            .into_iter()
            .map(|mut p| {
                p.push(seg.clone());
                p
            })
            .collect();
        (r, extended)
    };
    let mut counted: std::collections::HashMap<usize, usize> = Default::default();
    match &n.value {
        yaml::Value::Map(entries) => {
            for (k, v) in entries {
                let p = format!("{ptr}/{}", yaml::escape_pointer_segment(&k.name));
                let seg = Seg::Key(k.name.as_str().into());
                let hint = match &own {
                    Some(_) => child(seg),
                    None => region_at(k.span.start)
                        .filter(|&r| region_at(v.span.start) == Some(r))
                        .map(|r| entry_of(r, seg)),
                };
                visit(v, p, hint, marks, text, out);
            }
        }
        yaml::Value::Seq(items) => {
            for (idx, v) in items.iter().enumerate() {
                let hint = match &own {
                    Some(_) => child(Seg::Idx(idx)),
                    None => text
                        .get(..v.span.start)
                        .and_then(|t| t.rfind('-'))
                        .and_then(region_at)
                        .filter(|&r| region_at(v.span.start) == Some(r))
                        .map(|r| {
                            let nth = counted.entry(r).or_insert(0);
                            *nth += 1;
                            entry_of(r, Seg::Idx(*nth - 1))
                        }),
                };
                visit(v, format!("{ptr}/{idx}"), hint, marks, text, out);
            }
        }
        _ => {}
    }
}

/// The related locations of each field of a rendered (and remapped) object.
pub fn origins(
    files: &Files,
    node: &Node,
    paths: Vec<(String, Vec<VPath>)>,
    prefix: &[Seg],
    sources: &ValueSources,
) -> Option<Arc<Origins>> {
    let mut by_pointer = BTreeMap::new();
    for (ptr, list) in paths {
        let segments = yaml::split_pointer(&ptr);
        let (at, depth) = node.walk(&segments);
        if depth != segments.len() {
            continue;
        }
        let mut related: Vec<Related> = Vec::new();
        for p in list {
            let mut full = prefix.to_vec();
            full.extend(p.iter().cloned());
            // A subchart's `global` comes from the parent's `global` when it does not set it.
            let found = sources.locate(files, &full).or_else(|| {
                (!prefix.is_empty() && matches!(p.first(), Some(Seg::Key(k)) if &**k == "global"))
                    .then(|| sources.locate(files, &p))
                    .flatten()
            });
            if let Some(r) = found {
                if !related.contains(&r) {
                    related.push(r);
                }
            }
        }
        if !related.is_empty() {
            by_pointer.insert(ptr, (at.span.file, at.span.start, related));
        }
    }
    (!by_pointer.is_empty()).then(|| Arc::new(Origins { by_pointer }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::helm::exec::TemplateSet;
    use crate::render::helm::values;

    /// The `.Values` paths each action of `src` printed, as `image.tag` strings.
    fn printed(src: &str, vals: &str) -> Vec<Vec<String>> {
        let set = TemplateSet::default();
        set.add("c/templates/t.yaml", src).unwrap();
        let data = crate::render::helm::exec::data(vec![
            ("Values", values::from_yaml_str(vals).unwrap()),
            (
                "Chart",
                crate::render::helm::exec::data(vec![("AppVersion", "1.0".into())]),
            ),
        ]);
        let out = set
            .execute_mapped("c/templates/t.yaml", &data, true)
            .unwrap();
        out.marks
            .iter()
            .filter_map(|m| m.values.as_ref())
            .map(|v| v.iter().map(|p| show_path(p)).collect())
            .collect()
    }

    #[test]
    fn actions_record_the_values_they_print() {
        let vals = "image: {repository: r, tag: ''}\nenv: {A: x}\nlist: [a, b]\nn: 0\n";
        let cases: &[(&str, &[&[&str]])] = &[
            ("{{ .Values.image.repository }}", &[&["image.repository"]]),
            (
                "{{ $.Values.image.repository | quote }}",
                &[&["image.repository"]],
            ),
            // `default` chose the chart's AppVersion: not a value.
            ("{{ .Values.image.tag | default .Chart.AppVersion }}", &[]),
            (
                "{{ default \"x\" .Values.image.repository }}",
                &[&["image.repository"]],
            ),
            (
                "{{ with .Values.image }}{{ .repository }}{{ end }}",
                &[&["image.repository"]],
            ),
            (
                "{{ range $k, $v := .Values.env }}{{ $k }}{{ $v }}{{ end }}",
                &[&["env.A"]],
            ),
            (
                "{{ range .Values.list }}{{ . }}{{ end }}",
                &[&["list[0]"], &["list[1]"]],
            ),
            ("{{ index .Values.list 1 }}", &[&["list[1]"]]),
            (
                "{{ $x := .Values.image }}{{ $x.repository }}",
                &[&["image.repository"]],
            ),
            (
                "{{ printf \"%s:%s\" .Values.image.repository .Values.n }}",
                &[&["image.repository", "n"]],
            ),
            ("{{ toYaml .Values.env | nindent 2 }}", &[&["env"]]),
            // A computed value is nobody's.
            (
                "{{ add .Values.n 1 }}{{ include \"x\" . }}{{ define \"x\" }}y{{ end }}",
                &[],
            ),
            (
                "{{ ternary .Values.image.repository \"b\" true }}",
                &[&["image.repository"]],
            ),
            // Named templates given the root (or `$`) print values too.
            (
                "{{ include \"img\" . }}{{ define \"img\" }}{{ .Values.image.repository }}:{{ .Values.image.tag | default \"x\" }}{{ end }}",
                &[&["image.repository"]],
            ),
            (
                "{{ include \"img\" $ | nindent 2 }}{{ define \"img\" }}{{ include \"in\" . }}{{ end }}{{ define \"in\" }}{{ .Values.n }}{{ end }}",
                &[&["n"]],
            ),
            (
                "{{ template \"img\" .Values.image }}{{ define \"img\" }}{{ .repository }}{{ end }}",
                &[&["image.repository"]],
            ),
            // A dict context keeps its entries' sources (library-chart style).
            (
                "{{ include \"img\" (dict \"v\" .Values.n) }}{{ define \"img\" }}{{ .v }}{{ end }}",
                &[&["n"]],
            ),
            (
                "{{ include \"img\" (dict \"v\" 1 \"ctx\" $) }}{{ define \"img\" }}{{ .v }}{{ .ctx.Values.n }}{{ end }}",
                &[&["n"]],
            ),
        ];
        for (src, want) in cases {
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect();
            assert_eq!(printed(src, vals), want, "{src}");
        }
    }

    #[test]
    fn entries_an_action_adds_to_a_literal_collection_get_their_own_paths() {
        let src = "env:\n  - name: FIXED\n    value: \"1\"\n{{- toYaml .Values.extraEnv | nindent 2 }}\nlabels:\n  app: web\n  {{- toYaml .Values.podLabels | nindent 2 }}\nname: {{ .Values.name }}\nargs:\n  - {{ .Values.arg }}\n";
        let vals = "extraEnv: [{name: A, value: x}]\npodLabels: {team: t}\nname: n\narg: a\n";
        let set = TemplateSet::default();
        set.add("c/templates/t.yaml", src).unwrap();
        let data =
            crate::render::helm::exec::data(vec![("Values", values::from_yaml_str(vals).unwrap())]);
        let out = set
            .execute_mapped("c/templates/t.yaml", &data, true)
            .unwrap();
        let f = SourceFile::new("t", out.text.clone());
        let root = yaml::parse_stream(&f, &yaml::Limits::default()).documents[0]
            .root
            .clone()
            .unwrap();
        let got: BTreeMap<String, Vec<String>> = node_paths(&root, &out.marks, &out.text)
            .into_iter()
            .map(|(p, paths)| (p, paths.iter().map(|v| show_path(v)).collect()))
            .collect();
        let want: BTreeMap<String, Vec<String>> = [
            ("/env/1", "extraEnv[0]"),
            ("/env/1/name", "extraEnv[0].name"),
            ("/env/1/value", "extraEnv[0].value"),
            ("/labels/team", "podLabels.team"),
            ("/name", "name"),
            ("/args/0", "arg"),
        ]
        .into_iter()
        .map(|(p, v)| (p.to_string(), vec![v.to_string()]))
        .collect();
        assert_eq!(got, want, "{}", out.text);
    }

    #[test]
    fn subchart_templates_read_their_part_of_the_values() {
        assert_eq!(chart_prefix("app/templates/x.yaml"), Vec::<Seg>::new());
        assert_eq!(
            show_path(&chart_prefix("app/charts/db/charts/cache/templates/x.yaml")),
            "db.cache"
        );
        assert_eq!(show_path(&dotted("image.tag")), "image.tag");
    }

    /// The file of `text` and its `data.values.yaml` field.
    fn field_of(text: &str) -> (SourceFile, Node) {
        let f = SourceFile::new("cm.yaml", text);
        let root = yaml::parse_stream(&f, &yaml::Limits::default()).documents[0]
            .root
            .clone()
            .unwrap();
        let field = root
            .get("data")
            .unwrap()
            .get("values.yaml")
            .unwrap()
            .clone();
        (f, field)
    }

    #[test]
    fn a_literal_block_maps_its_lines_into_the_file() {
        let (f, field) = field_of("data:\n  values.yaml: |\n    a: 1\n    b:\n      c: 2\n");
        let inner = field.as_str().unwrap().to_string();
        let (lines, cols) = block_shift(&f, &field, &inner).expect("a literal block");
        // `c` is on line 3, column 3 of the document: line 5, column 7 of the file.
        assert_eq!((3 + lines, 3 + cols), (5, 7));
        // A quoted string is not mapped line by line.
        let (f, field) = field_of("data:\n  values.yaml: \"a: 1\\nb: 2\\n\"\n");
        assert!(block_shift(&f, &field, field.as_str().unwrap()).is_none());
    }
}
