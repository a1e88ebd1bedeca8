//! Load-time rejection of recursive Rego functions, as OPA's compiler does
//! (`rego_recursion_error: rule data.x.f is recursive: data.x.f -> data.x.f`).
//!
//! regorus detects a rule that depends on itself while evaluating, but not a function that
//! calls itself (directly or through other functions): such a call recurses in the
//! interpreter until the process's stack overflows, which aborts the whole run. So the call
//! graph of the loaded modules' functions is built from regorus's AST and every cycle in it
//! is a finding before anything is evaluated.
//!
//! Only call expressions make edges: a call's target is never a local variable, so resolving
//! it (`f(x)` in the module's package, `data.pkg.f(x)`, `alias.f(x)` through an import) is
//! exact and an ordinary policy is never flagged. A call that resolves to no function of the
//! module set (a builtin, an extension, a rule) makes no edge.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{Expr, Literal, Module, Query, Ref, Rule, RuleHead};

/// One function that is part of a call cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The function, as `data.<package>.<name>`.
    pub function: String,
    /// The path regorus knows the function's module by.
    pub path: String,
    /// Where the function's first definition starts (1-based).
    pub line: u32,
    pub col: u32,
    /// The calls from the function back to itself: `[f, g, f]`.
    pub chain: Vec<String>,
}

impl Cycle {
    /// The message, worded as OPA's compiler words it.
    pub fn message(&self) -> String {
        format!(
            "rule {} is recursive: {} (a function may not call itself, directly or through \
other functions: OPA rejects this as rego_recursion_error and evaluating it would never end)",
            self.function,
            self.chain.join(" -> ")
        )
    }

    /// The finding as regorus formats its own errors (`--> path:line:col` … `error: msg`), so
    /// the callers' existing error-to-position mapping places it.
    pub fn as_regorus_error(&self) -> String {
        format!(
            "\n--> {}:{}:{}\nerror: {}",
            self.path,
            self.line,
            self.col,
            self.message()
        )
    }
}

/// Where a function is first defined.
struct Def {
    path: String,
    line: u32,
    col: u32,
}

/// Every function that lies on a call cycle, sorted by name; empty for a policy set without
/// recursion.
pub fn find(modules: &[Ref<Module>]) -> Vec<Cycle> {
    let mut defs: BTreeMap<String, Def> = BTreeMap::new();
    for module in modules {
        let package = package_of(module);
        for rule in &module.policy {
            if let Rule::Spec {
                head: RuleHead::Func { refr, .. },
                ..
            } = rule.as_ref()
            {
                let Some(name) = ref_path(refr) else { continue };
                let span = refr.span();
                defs.entry(format!("data.{package}.{name}"))
                    .or_insert_with(|| Def {
                        path: span.source.get_path().clone(),
                        line: span.line,
                        col: span.col,
                    });
            }
        }
    }
    if defs.is_empty() {
        return Vec::new();
    }

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules {
        let package = package_of(module);
        let aliases = import_aliases(module);
        for rule in &module.policy {
            let Rule::Spec {
                head: RuleHead::Func {
                    refr, args, assign, ..
                },
                bodies,
                ..
            } = rule.as_ref()
            else {
                continue;
            };
            let Some(name) = ref_path(refr) else { continue };
            let from = format!("data.{package}.{name}");
            let mut calls = Vec::new();
            let mut exprs: Vec<&Ref<Expr>> = args.iter().collect();
            if let Some(a) = assign {
                exprs.push(&a.value);
            }
            let mut queries = Vec::new();
            for body in bodies {
                if let Some(a) = &body.assign {
                    exprs.push(&a.value);
                }
                queries.push(&body.query);
            }
            collect_calls(exprs, queries, &mut calls);
            let out = edges.entry(from).or_default();
            for call in calls {
                let target = resolve(&call, &package, &aliases);
                if defs.contains_key(&target) {
                    out.insert(target);
                }
            }
        }
    }

    let mut cycles = Vec::new();
    for component in strongly_connected(&defs, &edges) {
        let recursive = component.len() > 1
            || edges
                .get(&component[0])
                .is_some_and(|out| out.contains(&component[0]));
        if !recursive {
            continue;
        }
        let members: BTreeSet<&String> = component.iter().collect();
        for f in &component {
            let def = &defs[f];
            cycles.push(Cycle {
                function: f.clone(),
                path: def.path.clone(),
                line: def.line,
                col: def.col,
                chain: shortest_cycle(f, &edges, &members),
            });
        }
    }
    cycles.sort_by(|a, b| a.function.cmp(&b.function));
    cycles
}

/// `x.y` of `package x.y`.
fn package_of(module: &Module) -> String {
    ref_path(&module.package.refr).unwrap_or_else(|| module.package.refr.span().text().to_string())
}

/// Import aliases that name `data` documents: `import data.lib.k8s` → `k8s`,
/// `import data.lib.k8s as kk` → `kk`.
fn import_aliases(module: &Module) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for import in &module.imports {
        let Some(path) = ref_path(&import.refr) else {
            continue;
        };
        if !path.starts_with("data.") {
            continue;
        }
        let alias = match &import.r#as {
            Some(span) => span.text().to_string(),
            None => path.rsplit('.').next().unwrap_or_default().to_string(),
        };
        out.insert(alias, path);
    }
    out
}

/// The absolute name a call's dotted path denotes from inside `package`.
fn resolve(call: &str, package: &str, aliases: &BTreeMap<String, String>) -> String {
    if call.starts_with("data.") {
        return call.to_string();
    }
    let (head, rest) = match call.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (call, None),
    };
    if let Some(target) = aliases.get(head) {
        return match rest {
            Some(r) => format!("{target}.{r}"),
            None => target.clone(),
        };
    }
    format!("data.{package}.{call}")
}

/// The dotted path of a reference made of a variable and fields (`a.b["c"]` → `a.b.c`); None
/// for anything else (a computed index, a call's result).
fn ref_path(expr: &Ref<Expr>) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = expr;
    loop {
        match cur.as_ref() {
            Expr::Var { span, .. } => {
                parts.push(span.text().to_string());
                break;
            }
            Expr::RefDot { refr, field, .. } => {
                parts.push(field.1.as_string().ok()?.to_string());
                cur = refr;
            }
            Expr::RefBrack { refr, index, .. } => match index.as_ref() {
                Expr::String { value, .. } | Expr::RawString { value, .. } => {
                    parts.push(value.as_string().ok()?.to_string());
                    cur = refr;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// The dotted paths of every call in the given expressions and queries. Iterative, so a
/// deeply nested expression cannot overflow the stack here either.
fn collect_calls<'a>(
    mut exprs: Vec<&'a Ref<Expr>>,
    mut queries: Vec<&'a Ref<Query>>,
    calls: &mut Vec<String>,
) {
    loop {
        if let Some(q) = queries.pop() {
            for stmt in &q.stmts {
                for w in &stmt.with_mods {
                    exprs.push(&w.refr);
                    exprs.push(&w.r#as);
                }
                match &stmt.literal {
                    Literal::SomeVars { .. } => {}
                    Literal::SomeIn {
                        key,
                        value,
                        collection,
                        ..
                    } => {
                        exprs.extend(key.iter());
                        exprs.push(value);
                        exprs.push(collection);
                    }
                    Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => exprs.push(expr),
                    Literal::Every { domain, query, .. } => {
                        exprs.push(domain);
                        queries.push(query);
                    }
                }
            }
            continue;
        }
        let Some(e) = exprs.pop() else { break };
        match e.as_ref() {
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. }
            | Expr::Var { .. } => {}
            Expr::Array { items, .. } | Expr::Set { items, .. } => exprs.extend(items.iter()),
            Expr::Object { fields, .. } => {
                for (_, k, v) in fields {
                    exprs.push(k);
                    exprs.push(v);
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                exprs.push(term);
                queries.push(query);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                exprs.push(key);
                exprs.push(value);
                queries.push(query);
            }
            Expr::Call { fcn, params, .. } => {
                if let Some(path) = ref_path(fcn) {
                    calls.push(path);
                } else {
                    exprs.push(fcn);
                }
                exprs.extend(params.iter());
            }
            Expr::UnaryExpr { expr, .. } => exprs.push(expr),
            Expr::RefDot { refr, .. } => exprs.push(refr),
            Expr::RefBrack { refr, index, .. } => {
                exprs.push(refr);
                exprs.push(index);
            }
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                exprs.push(lhs);
                exprs.push(rhs);
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                exprs.extend(key.iter());
                exprs.push(value);
                exprs.push(collection);
            }
        }
    }
}

/// Tarjan's strongly connected components (iterative), each sorted, in a deterministic order.
fn strongly_connected(
    nodes: &BTreeMap<String, Def>,
    edges: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Vec<String>> {
    let names: Vec<&String> = nodes.keys().collect();
    let index_of: BTreeMap<&String, usize> =
        names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map(|out| {
                    out.iter()
                        .filter_map(|t| index_of.get(t).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let n = names.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, position in its successor list)
        let mut work = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if *i < succ[v].len() {
                let w = succ[v][*i];
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(names[w].clone());
                    if w == v {
                        break;
                    }
                }
                component.sort();
                out.push(component);
            }
        }
    }
    out.sort();
    out
}

/// The shortest call chain from `start` back to itself inside its component: `[f, g, f]`.
fn shortest_cycle(
    start: &String,
    edges: &BTreeMap<String, BTreeSet<String>>,
    members: &BTreeSet<&String>,
) -> Vec<String> {
    let mut parent: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flatten() {
            if !members.contains(w) {
                continue;
            }
            if w == start {
                // Walk back from v to start, then read it forwards and close the loop.
                let mut chain = vec![v.clone()];
                let mut cur = v;
                while cur != start {
                    cur = parent[cur];
                    chain.push(cur.clone());
                }
                chain.reverse();
                chain.push(start.clone());
                return chain;
            }
            if !parent.contains_key(w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    // Unreachable for a member of a recursive component; the self-call is the honest fallback.
    vec![start.clone(), start.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use regorus::Engine;

    fn cycles(modules: &[(&str, &str)]) -> Vec<Cycle> {
        let mut engine = Engine::new();
        for (path, text) in modules {
            engine
                .add_policy(path.to_string(), text.to_string())
                .expect("test policy parses");
        }
        find(engine.get_modules())
    }

    #[test]
    fn a_function_calling_itself_is_found_at_its_definition() {
        let found = cycles(&[(
            "a.rego",
            "package x\n\n# f(x) in a comment\nf(n) := y if {\n\ty := f(n)\n}\n",
        )]);
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(c.function, "data.x.f");
        assert_eq!((c.path.as_str(), c.line, c.col), ("a.rego", 4, 1));
        assert_eq!(c.chain, ["data.x.f", "data.x.f"]);
        assert!(c
            .message()
            .starts_with("rule data.x.f is recursive: data.x.f -> data.x.f"));
    }

    #[test]
    fn mutual_recursion_across_packages_names_the_whole_cycle() {
        let found = cycles(&[
            (
                "a.rego",
                "package a\nimport data.b\nf(x) := y if { y := b.g(x) }\n",
            ),
            (
                "b.rego",
                "package b\nimport data.a as other\ng(x) := y if { y := h(x) }\nh(x) := other.f(x)\n",
            ),
        ]);
        let names: Vec<&str> = found.iter().map(|c| c.function.as_str()).collect();
        assert_eq!(names, ["data.a.f", "data.b.g", "data.b.h"]);
        assert_eq!(
            found[1].chain,
            ["data.b.g", "data.b.h", "data.a.f", "data.b.g"]
        );
        assert_eq!((found[2].path.as_str(), found[2].line), ("b.rego", 4));
    }

    #[test]
    fn a_call_through_data_else_and_comprehension_is_an_edge() {
        let found = cycles(&[(
            "a.rego",
            "package x.y\nf(n) := 1 if { n > 3 } else := v if { v := [z | z := data.x.y.f(n)] }\n",
        )]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].function, "data.x.y.f");
    }

    #[test]
    fn ordinary_policies_have_no_cycle() {
        // Same-named functions in other packages, builtins, rules referencing rules, and a
        // local variable named like a function are all fine.
        let found = cycles(&[
            (
                "a.rego",
                "package a\nimport data.b\nf(x) := b.f(x) + count(x)\ng(x) := f(x)\nr := g([1])\ns := r\n",
            ),
            (
                "b.rego",
                "package b\nf(x) := y if { f := 1; y := f + count(x) }\ncount(x) := 0\n",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }
}

/// The project's own policies and every Rego fixture must load without a recursion finding:
/// the check may never flag an ordinary policy.
#[cfg(test)]
mod no_false_positives {
    use std::path::{Path, PathBuf};

    use super::find;
    use crate::policy::Loader;

    fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, ext, out);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
        out.sort();
    }

    #[test]
    fn the_project_policies_and_rego_fixtures_are_not_recursive() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut rego = Vec::new();
        files_under(&root.join("policies"), "rego", &mut rego);
        files_under(&root.join("tests"), "rego", &mut rego);
        assert!(rego.len() > 20, "fixtures not found: {rego:?}");
        let mut loader = Loader::new();
        for p in &rego {
            let text = std::fs::read_to_string(p).unwrap();
            loader.add(&p.to_string_lossy(), &text, None);
        }
        let recursive: Vec<_> = loader
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("is recursive"))
            .collect();
        assert!(recursive.is_empty(), "{recursive:?}");
        assert!(loader.modules.len() > 15, "{:?}", loader.diagnostics);
    }

    #[test]
    fn the_gatekeeper_fixture_templates_are_not_recursive() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut yaml = Vec::new();
        files_under(&root.join("tests"), "yaml", &mut yaml);
        let mut templates = 0;
        for p in &yaml {
            let text = std::fs::read_to_string(p).unwrap();
            if !text.contains("kind: ConstraintTemplate") {
                continue;
            }
            let source = crate::source::SourceFile::new(p.to_string_lossy(), text.as_str());
            let stream = crate::yaml::parse_stream(&source, &crate::yaml::Limits::default());
            for doc in stream.documents {
                let Some(root) = doc.root else { continue };
                let json = root.to_json();
                if json["kind"] != "ConstraintTemplate" {
                    continue;
                }
                for target in json["spec"]["targets"].as_array().into_iter().flatten() {
                    let mut sources: Vec<&str> = target["rego"].as_str().into_iter().collect();
                    sources.extend(
                        target["libs"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|l| l.as_str()),
                    );
                    let mut engine = regorus::Engine::new();
                    let mut loaded = 0;
                    for (i, s) in sources.iter().enumerate() {
                        let name = format!("{}#{i}", p.display());
                        engine.set_rego_v0(false);
                        if engine.add_policy(name.clone(), s.to_string()).is_err() {
                            engine.set_rego_v0(true);
                            if engine.add_policy(name, s.to_string()).is_err() {
                                continue;
                            }
                        }
                        loaded += 1;
                    }
                    if loaded > 0 {
                        templates += 1;
                        let found = find(engine.get_modules());
                        assert!(found.is_empty(), "{}: {found:?}", p.display());
                    }
                }
            }
        }
        assert!(templates >= 4, "only {templates} templates found");
    }
}
