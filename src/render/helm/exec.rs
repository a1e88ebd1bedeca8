//! The template evaluator: walks parsed templates against a data value with Go's semantics
//! (field lookup on maps, nil-pointer errors, variables scoped to their block, `range` over
//! sorted map keys, short-circuit `and`/`or`), plus the Helm functions that need the template set
//! (`include`, `tpl`, `template`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::funcs;
use super::parse::{self, Arg, Branch, Cmd, Node, Pipe, TplError};
use super::value::{Map, Obj, Value};

/// An error while rendering, with the template file and byte offset it happened at.
#[derive(Debug, Clone)]
pub struct ExecError {
    /// The template file (`chart/templates/x.yaml`).
    pub file: Rc<str>,
    pub pos: usize,
    pub msg: String,
}

/// Where a stretch of output came from: output byte offset → template file and byte offset.
/// `exact` marks literal text (offsets advance together); an action's output maps to the
/// action as a whole.
#[derive(Debug, Clone)]
pub struct Mark {
    pub out: usize,
    pub file: Rc<str>,
    pub pos: usize,
    pub exact: bool,
    /// The `.Values` paths an action printed (`{{ .Values.image.tag }}`, `{{ toYaml
    /// .Values.resources | nindent 8 }}`, `{{ $v }}` bound by `range .Values.env`): where a
    /// finding on that output also points, in the values file that set it.
    pub values: Option<Rc<[VPath]>>,
}

/// One step of a path in the chart's values: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(Rc<str>),
    Idx(usize),
}

/// A path in `.Values` (`image.tag` is `[Key(image), Key(tag)]`).
pub type VPath = Vec<Seg>;

/// Where a template value comes from, as far as the source map follows it: the template's root
/// data (`.`, `$`), one or more `.Values` paths, a `dict` built from such values (the context
/// library charts hand to their named templates: `dict "imageRoot" .Values.image "global"
/// .Values.global`), or somewhere else.
#[derive(Debug, Clone, Default)]
enum Src {
    #[default]
    Unknown,
    Root,
    Values(Vec<VPath>),
    Dict(Rc<std::collections::BTreeMap<String, Src>>),
}

impl Src {
    /// The source of `.a.b` read from a value of this source.
    fn field(&self, fields: &[Rc<str>]) -> Src {
        if fields.is_empty() {
            return self.clone();
        }
        match self {
            Src::Root if &*fields[0] == "Values" => Src::Values(vec![fields[1..]
                .iter()
                .map(|f| Seg::Key(f.clone()))
                .collect()]),
            Src::Values(paths) if paths.len() == 1 => {
                let mut p = paths[0].clone();
                p.extend(fields.iter().map(|f| Seg::Key(f.clone())));
                Src::Values(vec![p])
            }
            Src::Dict(entries) => entries
                .get(&*fields[0])
                .map(|s| s.field(&fields[1..]))
                .unwrap_or_default(),
            _ => Src::Unknown,
        }
    }

    /// The source of one element (map key or list index) of a value of this source.
    fn item(&self, key: &Value) -> Src {
        if let (Src::Dict(entries), Value::Str(k)) = (self, key) {
            return entries.get(&**k).cloned().unwrap_or_default();
        }
        let seg = match key {
            Value::Str(k) => Seg::Key(k.clone()),
            Value::Int(i) if *i >= 0 => Seg::Idx(*i as usize),
            _ => return Src::Unknown,
        };
        match self {
            Src::Values(paths) if paths.len() == 1 => {
                let mut p = paths[0].clone();
                p.push(seg);
                Src::Values(vec![p])
            }
            _ => Src::Unknown,
        }
    }
}

/// A template's output with its source map.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub text: String,
    pub marks: Vec<Mark>,
}

impl Output {
    /// The template file and byte offset that produced output byte `off`.
    pub fn origin(&self, off: usize) -> Option<(&Rc<str>, usize)> {
        origin(&self.marks, off)
    }
}

/// The template file and byte offset that produced output byte `off`, from a source map.
pub fn origin(marks: &[Mark], off: usize) -> Option<(&Rc<str>, usize)> {
    let i = marks.partition_point(|m| m.out <= off);
    let m = marks.get(i.checked_sub(1)?)?;
    let pos = if m.exact {
        m.pos + (off - m.out)
    } else {
        m.pos
    };
    Some((&m.file, pos))
}

/// A named template and the file it was defined in (for error positions).
#[derive(Clone)]
struct Def {
    body: Rc<Vec<Node>>,
    file: Rc<str>,
}

/// Every template of a chart (and its subcharts): one namespace of `define`s, as Helm parses all
/// files into one set.
#[derive(Default)]
pub struct TemplateSet {
    defs: RefCell<HashMap<String, Def>>,
    sources: RefCell<HashMap<Rc<str>, Rc<str>>>,
    /// Lines of tpl-rendered strings keep their own sources (a `tpl` error points at its text).
    roots: RefCell<HashMap<Rc<str>, Rc<Vec<Node>>>>,
}

/// Helm's limit on nested `include`/`template` calls.
const MAX_DEPTH: usize = 1000;

impl TemplateSet {
    /// Parses one file and adds its definitions (a later file's `define` replaces an earlier
    /// one's, as in Go). The file's own body is kept under its name.
    pub fn add(&self, name: &str, src: &str) -> Result<(), ExecError> {
        let file: Rc<str> = name.into();
        let parsed = parse::parse(src).map_err(|e| ExecError {
            file: file.clone(),
            pos: e.pos,
            msg: e.msg,
        })?;
        self.sources.borrow_mut().insert(file.clone(), src.into());
        let mut defs = self.defs.borrow_mut();
        for (k, body) in parsed.defines {
            defs.insert(
                k,
                Def {
                    body,
                    file: file.clone(),
                },
            );
        }
        // A file is itself a template of the set: `include "chart/templates/cm.yaml" .` works
        // (charts checksum their own ConfigMaps that way).
        let root = Rc::new(parsed.root);
        defs.insert(
            name.to_string(),
            Def {
                body: root.clone(),
                file: file.clone(),
            },
        );
        self.roots.borrow_mut().insert(file, root);
        Ok(())
    }

    pub fn source(&self, file: &str) -> Option<Rc<str>> {
        self.sources.borrow().get(file).cloned()
    }

    /// Renders the body of file `name` with `data` as dot.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, ExecError> {
        self.execute_mapped(name, data, false).map(|o| o.text)
    }

    /// Renders file `name`, recording where each part of the output came from when `map`.
    pub fn execute_mapped(&self, name: &str, data: &Value, map: bool) -> Result<Output, ExecError> {
        let root = self.roots.borrow().get(name).cloned();
        let Some(root) = root else {
            return Err(ExecError {
                file: name.into(),
                pos: 0,
                msg: format!("no template {name:?}"),
            });
        };
        let mut ex = Exec {
            set: self,
            out: String::new(),
            vars: vec![("$".into(), data.clone())],
            file: name.into(),
            depth: 0,
            marks: map.then(Vec::new),
            dot_src: Src::Root,
            var_src: vec![Src::Root],
            printed: None,
            include_src: HashMap::new(),
        };
        match ex.walk_list(&root, data) {
            Ok(_) | Err(Flow::Break) | Err(Flow::Continue) => Ok(Output {
                text: ex.out,
                marks: ex.marks.unwrap_or_default(),
            }),
            Err(Flow::Err(e)) => Err(e),
        }
    }
}

/// Non-local exits: an error, or `break`/`continue` unwinding to the enclosing `range`.
enum Flow {
    Err(ExecError),
    Break,
    Continue,
}

impl From<ExecError> for Flow {
    fn from(e: ExecError) -> Flow {
        Flow::Err(e)
    }
}

struct Exec<'s> {
    set: &'s TemplateSet,
    out: String,
    vars: Vec<(String, Value)>,
    file: Rc<str>,
    depth: usize,
    /// The source map, recorded only for a file's own output (not for `include`d strings).
    marks: Option<Vec<Mark>>,
    /// With a source map: where dot comes from (`with .Values.x`, `range .Values.list`) and
    /// where each variable (by its index in `vars`) does.
    dot_src: Src,
    var_src: Vec<Src>,
    /// Inside an `include` of a traced template: the `.Values` paths every action printed,
    /// which become the include's own source.
    printed: Option<Vec<VPath>>,
    /// The paths each `include` call (by position) printed, read back by `pipe_src`.
    include_src: HashMap<usize, Vec<VPath>>,
}

type R<T> = Result<T, ExecError>;

impl<'s> Exec<'s> {
    fn error(&self, pos: usize, msg: impl Into<String>) -> ExecError {
        ExecError {
            file: self.file.clone(),
            pos,
            msg: msg.into(),
        }
    }

    fn mark(&mut self, pos: usize, exact: bool) {
        self.mark_values(pos, exact, Src::Unknown);
    }

    fn mark_values(&mut self, pos: usize, exact: bool, src: Src) {
        if let (Some(printed), Src::Values(paths)) = (&mut self.printed, &src) {
            printed.extend(paths.iter().cloned());
        }
        if let Some(m) = &mut self.marks {
            m.push(Mark {
                out: self.out.len(),
                file: self.file.clone(),
                pos,
                exact,
                values: match src {
                    Src::Values(paths) => Some(paths.into()),
                    _ => None,
                },
            });
        }
    }

    /// Records where variable number `idx` comes from (only with a source map).
    fn set_var_src(&mut self, idx: usize, src: Src) {
        if !self.tracing() {
            return;
        }
        if self.var_src.len() <= idx {
            self.var_src.resize(idx + 1, Src::Unknown);
        }
        self.var_src[idx] = src;
    }

    /// Runs `f` with dot coming from `src`.
    fn with_dot_src<T>(&mut self, src: Src, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = std::mem::replace(&mut self.dot_src, src);
        let r = f(self);
        self.dot_src = saved;
        r
    }

    /// Where the value of a pipeline comes from in `.Values`, and the value itself when reading
    /// it has no side effect. Evaluated only for the source map, after the pipeline ran: it only
    /// re-reads fields and variables, never calls a function.
    fn pipe_src(&self, p: &Pipe, dot: &Value) -> (Src, Option<Value>) {
        let mut piped: Option<(Src, Option<Value>)> = None;
        for c in &p.cmds {
            piped = Some(self.cmd_src(c, dot, piped));
        }
        piped.unwrap_or_default()
    }

    fn cmd_src(
        &self,
        c: &Cmd,
        dot: &Value,
        piped: Option<(Src, Option<Value>)>,
    ) -> (Src, Option<Value>) {
        match &c.args[0] {
            // What the included template printed from `.Values`.
            Arg::Ident(name) if name == "include" => (
                paths_src(self.include_src.get(&c.pos).cloned().unwrap_or_default()),
                None,
            ),
            Arg::Ident(name) => {
                let mut args: Vec<(Src, Option<Value>)> =
                    c.args[1..].iter().map(|a| self.arg_src(a, dot)).collect();
                args.extend(piped);
                (fn_src(name, args), None)
            }
            first if c.args.len() == 1 && piped.is_none() => self.arg_src(first, dot),
            _ => (Src::Unknown, None),
        }
    }

    fn arg_src(&self, a: &Arg, dot: &Value) -> (Src, Option<Value>) {
        match a {
            Arg::Dot => (self.dot_src.clone(), Some(dot.clone())),
            Arg::Field(fs) => (
                self.dot_src.field(fs),
                self.field_chain(0, dot.clone(), fs).ok(),
            ),
            Arg::Var(name, fs) => {
                let Some(i) = self.vars.iter().rposition(|(n, _)| n == name) else {
                    return (Src::Unknown, None);
                };
                let src = self.var_src.get(i).cloned().unwrap_or_default();
                (
                    src.field(fs),
                    self.field_chain(0, self.vars[i].1.clone(), fs).ok(),
                )
            }
            Arg::Chain(p, fs) => (self.pipe_src(p, dot).0.field(fs), None),
            Arg::Pipe(p) => self.pipe_src(p, dot),
            Arg::Nil => (Src::Unknown, Some(Value::Nil)),
            Arg::Bool(b) => (Src::Unknown, Some(Value::Bool(*b))),
            Arg::Str(s) => (Src::Unknown, Some(Value::Str(s.clone()))),
            Arg::Int(i) => (Src::Unknown, Some(Value::Int(*i))),
            Arg::Float(f) => (Src::Unknown, Some(Value::Float(*f))),
            Arg::Ident(_) => (Src::Unknown, None),
        }
    }

    fn walk_list(&mut self, list: &[Node], dot: &Value) -> Result<(), Flow> {
        for n in list {
            self.walk(n, dot)?;
        }
        Ok(())
    }

    fn walk(&mut self, node: &Node, dot: &Value) -> Result<(), Flow> {
        match node {
            Node::Text(pos, t) => {
                self.mark(*pos, true);
                self.out.push_str(t)
            }
            Node::Action(p) => {
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    let src = if self.tracing() {
                        self.pipe_src(p, dot).0
                    } else {
                        Src::Unknown
                    };
                    self.mark_values(p.pos, false, src);
                    print_value(&mut self.out, &v);
                }
            }
            Node::If(b) => {
                let mark = self.vars.len();
                let v = self.pipe(&b.pipe, dot)?;
                let r = if v.truthy() {
                    self.walk_list(&b.list, dot)
                } else if let Some(e) = &b.else_list {
                    self.walk_list(e, dot)
                } else {
                    Ok(())
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::With(b) => {
                let mark = self.vars.len();
                let v = self.pipe(&b.pipe, dot)?;
                let r = if v.truthy() {
                    let src = if self.tracing() {
                        self.pipe_src(&b.pipe, dot).0
                    } else {
                        Src::Unknown
                    };
                    self.with_dot_src(src, |ex| ex.walk_list(&b.list, &v))
                } else if let Some(e) = &b.else_list {
                    self.walk_list(e, dot)
                } else {
                    Ok(())
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::Range(b) => self.range(b, dot)?,
            Node::Template { pos, name, pipe } => {
                let data = match pipe {
                    Some(p) => self.pipe(p, dot)?,
                    None => Value::Nil,
                };
                let data_src = match pipe {
                    Some(p) if self.tracing() => self.pipe_src(p, dot).0,
                    _ => Src::Unknown,
                };
                let s = self.call_template(*pos, name, &data, data_src)?;
                let src = paths_src(self.include_src.remove(pos).unwrap_or_default());
                self.mark_values(*pos, false, src);
                self.out.push_str(&s);
            }
            Node::Break(_) => return Err(Flow::Break),
            Node::Continue(_) => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn range(&mut self, b: &Branch, dot: &Value) -> Result<(), Flow> {
        let mark = self.vars.len();
        // The range pipeline's variables are the element variables, not the pipeline's result.
        let v = self.pipe_value(&b.pipe, dot)?;
        let src = if self.tracing() {
            self.pipe_src(&b.pipe, dot).0
        } else {
            Src::Unknown
        };
        let items: Vec<(Value, Value)> = match &v {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                .collect(),
            // A snapshot: the body may `set` keys of the map it ranges over, as Go allows.
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, x)| (Value::str(k.as_str()), x.clone()))
                .collect(),
            Value::Int(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Nil => Vec::new(),
            other => {
                return Err(self
                    .error(
                        b.pipe.pos,
                        format!("range can't iterate over {}", other.to_go_string()),
                    )
                    .into())
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk_list(e, dot)?;
            }
            self.vars.truncate(mark);
            return Ok(());
        }
        for (k, x) in items {
            let inner = self.vars.len();
            let item_src = match v {
                Value::List(_) | Value::Map(_) => src.item(&k),
                _ => Src::Unknown,
            };
            match b.pipe.decl.len() {
                1 => {
                    self.vars.push((b.pipe.decl[0].clone(), x.clone()));
                    self.set_var_src(inner, item_src.clone());
                }
                2 => {
                    self.vars.push((b.pipe.decl[0].clone(), k));
                    self.vars.push((b.pipe.decl[1].clone(), x.clone()));
                    self.set_var_src(inner, Src::Unknown);
                    self.set_var_src(inner + 1, item_src.clone());
                }
                _ => {}
            }
            let r = self.with_dot_src(item_src, |ex| ex.walk_list(&b.list, &x));
            self.vars.truncate(inner);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    /// `template`/`include` with dot coming from `data_src`: when tracing, the `.Values` paths
    /// the template printed are kept as the call's source.
    fn call_template(&mut self, pos: usize, name: &str, data: &Value, data_src: Src) -> R<String> {
        let def = self.set.defs.borrow().get(name).cloned();
        let Some(def) = def else {
            return Err(self.error(
                pos,
                format!("template: no template {name:?} associated with template \"gotpl\""),
            ));
        };
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                pos,
                format!("rendering template has a nested reference name: {name}: unable to execute template"),
            ));
        }
        let mut sub = Exec {
            set: self.set,
            out: String::new(),
            vars: vec![("$".into(), data.clone())],
            file: def.file.clone(),
            depth: self.depth + 1,
            marks: None,
            dot_src: data_src.clone(),
            var_src: vec![data_src],
            printed: self.tracing().then(Vec::new),
            include_src: HashMap::new(),
        };
        match sub.walk_list(&def.body, data) {
            Ok(()) | Err(Flow::Break) | Err(Flow::Continue) => {
                if let Some(paths) = sub.printed {
                    self.include_src.insert(pos, paths);
                }
                Ok(sub.out)
            }
            Err(Flow::Err(e)) => Err(e),
        }
    }

    /// Whether values sources are followed: in a source-mapped file and the templates it
    /// includes.
    fn tracing(&self) -> bool {
        self.marks.is_some() || self.printed.is_some()
    }

    /// Evaluates a pipeline and declares/assigns its variables.
    fn pipe(&mut self, p: &Pipe, dot: &Value) -> R<Value> {
        let v = self.pipe_value(p, dot)?;
        if p.decl.is_empty() {
            return Ok(v);
        }
        let src = if self.tracing() {
            self.pipe_src(p, dot).0
        } else {
            Src::Unknown
        };
        for name in &p.decl {
            if p.assign {
                if let Some(i) = self.vars.iter().rposition(|(n, _)| n == name) {
                    self.vars[i].1 = v.clone();
                    self.set_var_src(i, src.clone());
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
                self.set_var_src(self.vars.len() - 1, src.clone());
            }
        }
        Ok(v)
    }

    fn pipe_value(&mut self, p: &Pipe, dot: &Value) -> R<Value> {
        let mut val: Option<Value> = None;
        for c in &p.cmds {
            val = Some(self.command(c, dot, val)?);
        }
        Ok(val.unwrap_or_default())
    }

    fn command(&mut self, c: &Cmd, dot: &Value, piped: Option<Value>) -> R<Value> {
        let first = &c.args[0];
        match first {
            Arg::Ident(name) => self.call(c.pos, name, &c.args[1..], dot, piped),
            Arg::Field(fields) if c.args.len() > 1 || piped.is_some() => {
                // A method call with arguments: `.Files.Get "x"`, `.Capabilities.APIVersions.Has`.
                let (last, init) = fields.split_last().expect("field has a name");
                let recv = self.field_chain(c.pos, dot.clone(), init)?;
                let mut args = Vec::new();
                for a in &c.args[1..] {
                    args.push(self.arg(c.pos, a, dot)?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                self.method(c.pos, &recv, last, &args)
            }
            _ => {
                if c.args.len() > 1 || piped.is_some() {
                    return Err(self.error(c.pos, "can't give argument to non-function"));
                }
                self.arg(c.pos, first, dot)
            }
        }
    }

    fn arg(&mut self, pos: usize, a: &Arg, dot: &Value) -> R<Value> {
        Ok(match a {
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Field(fs) => self.field_chain(pos, dot.clone(), fs)?,
            Arg::Var(name, fs) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.error(pos, format!("undefined variable: {name}")))?;
                self.field_chain(pos, v, fs)?
            }
            Arg::Pipe(p) => self.pipe_value(p, dot)?,
            Arg::Chain(p, fs) => {
                let v = self.pipe_value(p, dot)?;
                self.field_chain(pos, v, fs)?
            }
            Arg::Ident(name) => self.call(pos, name, &[], dot, None)?,
        })
    }

    fn field_chain(&self, pos: usize, mut v: Value, fields: &[Rc<str>]) -> R<Value> {
        for f in fields {
            v = self.field(pos, &v, f)?;
        }
        Ok(v)
    }

    fn field(&self, pos: usize, v: &Value, name: &str) -> R<Value> {
        match v {
            Value::Map(m) => Ok(m.borrow().get(name).cloned().unwrap_or_default()),
            Value::Nil => {
                Err(self.error(pos, format!("nil pointer evaluating interface {{}}.{name}")))
            }
            Value::Obj(_) => self.method(pos, v, name, &[]),
            other => Err(self.error(
                pos,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    fn method(&self, pos: usize, recv: &Value, name: &str, args: &[Value]) -> R<Value> {
        let Value::Obj(o) = recv else {
            if let Value::Map(_) = recv {
                let f = self.field(pos, recv, name)?;
                if args.is_empty() {
                    return Ok(f);
                }
            }
            return Err(self.error(
                pos,
                format!("{name} has arguments but cannot be invoked as function"),
            ));
        };
        let s = |i: usize| -> String {
            args.get(i)
                .map(|a| match a {
                    Value::Str(s) => s.to_string(),
                    other => other.to_go_string(),
                })
                .unwrap_or_default()
        };
        match (o.as_ref(), name) {
            (Obj::Files(files), _) => {
                funcs::files_method(files, name, args).map_err(|m| self.error(pos, m))
            }
            (Obj::ApiVersions(vs), "Has") => Ok(Value::Bool(vs.iter().any(|v| *v == s(0)))),
            (
                Obj::KubeVersion {
                    major,
                    minor,
                    patch,
                },
                _,
            ) => Ok(match name {
                "Major" => Value::str(major.to_string()),
                "Minor" => Value::str(minor.to_string()),
                "Version" | "GitVersion" | "String" => {
                    Value::str(format!("v{major}.{minor}.{patch}"))
                }
                _ => {
                    return Err(self.error(
                        pos,
                        format!("can't evaluate field {name} in type *common.KubeVersion"),
                    ))
                }
            }),
            _ => Err(self.error(
                pos,
                format!("can't evaluate field {name} in type {}", recv.type_name()),
            )),
        }
    }

    fn call(
        &mut self,
        pos: usize,
        name: &str,
        args: &[Arg],
        dot: &Value,
        piped: Option<Value>,
    ) -> R<Value> {
        // `and`/`or` evaluate their arguments lazily (Go 1.18+).
        if name == "and" || name == "or" {
            let n = args.len() + usize::from(piped.is_some());
            if n == 0 {
                return Err(self.error(
                    pos,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Nil;
            for a in args {
                last = self.arg(pos, a, dot)?;
                if (name == "and") != last.truthy() {
                    return Ok(last);
                }
            }
            if let Some(p) = piped {
                last = p;
            }
            return Ok(last);
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(pos, a, dot)?);
        }
        if let Some(p) = piped {
            vals.push(p);
        }
        match name {
            "include" => {
                let n = vals.first().and_then(|v| v.as_str()).map(str::to_string);
                let Some(n) = n else {
                    return Err(self.error(pos, "include: template name must be a string"));
                };
                let data = vals.get(1).cloned().unwrap_or_default();
                let data_src = match args.get(1) {
                    Some(a) if self.tracing() => self.arg_src(a, dot).0,
                    _ => Src::Unknown,
                };
                self.call_template(pos, &n, &data, data_src)
                    .map(Value::from)
            }
            "tpl" => {
                let text = match vals.first() {
                    Some(Value::Str(s)) => s.to_string(),
                    Some(v) => v.to_go_string(),
                    None => String::new(),
                };
                let data = vals.get(1).cloned().unwrap_or_default();
                self.tpl(pos, &text, &data).map(Value::from)
            }
            _ => funcs::call(name, &vals)
                .map_err(|m| self.error(pos, format!("error calling {name}: {m}"))),
        }
    }

    /// Helm's `tpl`: the string is a template in the chart's template set, rendered with `data`.
    fn tpl(&mut self, pos: usize, text: &str, data: &Value) -> R<String> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(pos, "tpl: too deeply nested"));
        }
        let parsed = parse::parse(text).map_err(|e: TplError| {
            self.error(
                pos,
                format!(
                    "error calling tpl: cannot parse template {text:?}: {}",
                    e.msg
                ),
            )
        })?;
        {
            let mut defs = self.set.defs.borrow_mut();
            for (k, body) in parsed.defines {
                defs.insert(
                    k,
                    Def {
                        body,
                        file: self.file.clone(),
                    },
                );
            }
        }
        let mut sub = Exec {
            set: self.set,
            out: String::new(),
            vars: vec![("$".into(), data.clone())],
            file: self.file.clone(),
            depth: self.depth + 1,
            marks: None,
            dot_src: Src::Unknown,
            var_src: Vec::new(),
            printed: None,
            include_src: HashMap::new(),
        };
        match sub.walk_list(&parsed.root, data) {
            Ok(()) | Err(Flow::Break) | Err(Flow::Continue) => {
                Ok(sub.out.replace("<no value>", ""))
            }
            Err(Flow::Err(e)) => Err(self.error(pos, format!("error calling tpl: {}", e.msg))),
        }
    }
}

/// The source of a value printed from `paths` (none: not from the values).
fn paths_src(paths: Vec<VPath>) -> Src {
    if paths.is_empty() {
        Src::Unknown
    } else {
        Src::Values(paths)
    }
}

/// Where a function's result comes from, given its arguments' sources (the piped value last):
/// formatting functions keep their subject's (Sprig's subject is the last argument), `default`,
/// `coalesce` and `ternary` the argument they chose, `index` its collection's item, `printf`
/// every argument's. Anything else computes a new value: no source.
fn fn_src(name: &str, mut args: Vec<(Src, Option<Value>)>) -> Src {
    let truthy = |a: &(Src, Option<Value>)| a.1.as_ref().map(Value::truthy);
    match name {
        "default" if args.len() >= 2 => {
            let subject = args.pop().unwrap_or_default();
            match truthy(&subject) {
                Some(true) => subject.0,
                Some(false) => args.swap_remove(0).0,
                None => Src::Unknown,
            }
        }
        "coalesce" => {
            for a in args {
                match truthy(&a) {
                    Some(true) => return a.0,
                    Some(false) => {}
                    None => return Src::Unknown,
                }
            }
            Src::Unknown
        }
        "ternary" if args.len() == 3 => match truthy(&args[2]) {
            Some(true) => args.swap_remove(0).0,
            Some(false) => args.swap_remove(1).0,
            None => Src::Unknown,
        },
        "index" if !args.is_empty() => {
            let mut it = args.into_iter();
            let mut src = it.next().unwrap_or_default().0;
            for (_, key) in it {
                src = match key {
                    Some(k) => src.item(&k),
                    None => Src::Unknown,
                };
            }
            src
        }
        "tpl" if !args.is_empty() => args.swap_remove(0).0,
        // A context of key/value pairs: its entries keep their sources.
        "dict" => {
            let mut entries = std::collections::BTreeMap::new();
            for pair in args.chunks(2) {
                if let [(_, Some(Value::Str(k))), (src, _)] = pair {
                    if !matches!(src, Src::Unknown) {
                        entries.insert(k.to_string(), src.clone());
                    }
                }
            }
            if entries.is_empty() {
                Src::Unknown
            } else {
                Src::Dict(Rc::new(entries))
            }
        }
        "printf" | "print" | "println" | "cat" => paths_src(
            args.into_iter()
                .flat_map(|a| match a.0 {
                    Src::Values(p) => p,
                    _ => Vec::new(),
                })
                .collect(),
        ),
        "quote" | "squote" | "toYaml" | "mustToYaml" | "toJson" | "mustToJson" | "toPrettyJson"
        | "mustToPrettyJson" | "toRawJson" | "mustToRawJson" | "toString" | "nindent"
        | "indent" | "trim" | "trimAll" | "trimPrefix" | "trimSuffix" | "lower" | "upper"
        | "title" | "int" | "int64" | "float64" | "atoi" | "b64enc" | "trunc" | "replace"
        | "required" | "join" | "sortAlpha" | "uniq" | "compact" | "toStrings" => {
            args.pop().map(|a| a.0).unwrap_or_default()
        }
        _ => Src::Unknown,
    }
}

/// text/template's printing of an action's value: nil is `<no value>`, everything else `%v`.
fn print_value(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::Str(s) => out.push_str(s),
        other => other.write_go(out, true),
    }
}

/// Builds the `Map` Helm passes as `.` from named parts.
pub fn data(parts: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in parts {
        m.insert(k.to_string(), v);
    }
    Value::map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, data: Value) -> Result<String, String> {
        let set = TemplateSet::default();
        set.add("t", src).map_err(|e| e.msg)?;
        set.execute("t", &data).map_err(|e| e.msg)
    }

    fn vals() -> Value {
        let y = "a: 1\nb: [x, z]\nm: {k2: v2, k1: v1}\ns: hello\nn: null\nt: true\n";
        super::super::values::from_yaml_str(y).unwrap()
    }

    /// Go maps are references: `set`/`unset`/`merge` change the map every holder sees; ranging
    /// over a map while setting its keys iterates a snapshot; a map cannot be put inside itself.
    #[test]
    fn maps_are_shared_references() {
        let cases = [
            ("{{ $_ := set .m \"k3\" 3 }}{{ .m.k3 }}", "3"),
            ("{{ $x := .m }}{{ $_ := unset $x \"k1\" }}{{ .m }}", "map[k2:v2]"),
            (
                "{{ range $k, $v := .m }}{{ $_ := set $.m (print $k \"x\") 1 }}{{ $k }},{{ end }}{{ len .m }}",
                "k1,k2,4",
            ),
            ("{{ $d := dict \"a\" 1 }}{{ $_ := merge $d $d }}{{ $d }}", "map[a:1]"),
            ("{{ $d := dict \"a\" 1 }}{{ $_ := mergeOverwrite $d (dict \"a\" 2 \"b\" 3) }}{{ $d }}", "map[a:2 b:3]"),
        ];
        for (src, want) in cases {
            assert_eq!(render(src, vals()).as_deref(), Ok(want), "{src}");
        }
        for cyclic in [
            "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ $d }}",
            "{{ $d := dict }}{{ $_ := set $d \"l\" (list 1 (dict \"in\" $d)) }}{{ toYaml $d }}",
            "{{ $d := dict }}{{ $e := dict \"d\" $d }}{{ $_ := merge $d $e }}{{ toJson $d }}",
        ] {
            let err = render(cyclic, vals()).expect_err(cyclic);
            assert!(err.contains("cycle"), "{cyclic}: {err}");
        }
    }

    #[test]
    fn actions_and_control() {
        let cases = [
            ("{{ .a }}", "1"),
            ("{{ .b }}", "[x z]"),
            ("{{ .m }}", "map[k1:v1 k2:v2]"),
            ("{{ .missing }}", "<no value>"),
            ("{{ if .t }}yes{{ else }}no{{ end }}", "yes"),
            ("{{ if .n }}a{{ else if .s }}b{{ end }}", "b"),
            (
                "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}",
                "k1=v1;k2=v2;",
            ),
            ("{{ range .b }}{{ . }}{{ else }}none{{ end }}", "xz"),
            ("{{ range .missing }}{{ . }}{{ else }}none{{ end }}", "none"),
            ("{{ with .s }}{{ . }}{{ end }}", "hello"),
            ("{{ with .n }}x{{ else with .s }}{{ . }}{{ end }}", "hello"),
            (
                "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
                "2",
            ),
            ("{{ and 1 0 }} {{ or 0 \"\" \"z\" }} {{ and 1 2 }}", "0 z 2"),
            ("{{ or .s .missing.x }}", "hello"),
            (
                "{{ range $i, $e := .b }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e }}{{ end }}",
                "x",
            ),
            ("{{ range 3 }}{{ . }}{{ end }}", "012"),
            (
                "{{ define \"d\" }}[{{ . }}]{{ end }}{{ template \"d\" .s }}",
                "[hello]",
            ),
            (
                "{{ include \"d2\" . | upper }}{{ define \"d2\" }}{{ .s }}{{ end }}",
                "HELLO",
            ),
            ("{{ block \"blk\" .s }}<{{ . }}>{{ end }}", "<hello>"),
            (
                "{{ (index .b 1) }} {{ len .m }} {{ index .m \"k1\" }}",
                "z 2 v1",
            ),
            ("{{ tpl \"{{ .s }}!\" . }}", "hello!"),
            ("{{- /* c */ -}}  x  {{- 1 -}}  ", "x1"),
        ];
        for (src, want) in cases {
            assert_eq!(render(src, vals()).as_deref(), Ok(want), "{src}");
        }
    }

    #[test]
    fn go_errors() {
        let d = vals();
        let e = render("{{ .missing.x }}", d.clone()).unwrap_err();
        assert!(e.contains("nil pointer evaluating interface {}.x"), "{e}");
        let e = render("{{ eq .a 1 }}", d.clone()).unwrap_err();
        assert!(e.contains("incompatible types"), "{e}");
        let e = render("{{ include \"nope\" . }}", d).unwrap_err();
        assert!(e.contains("no template"), "{e}");
    }
}
