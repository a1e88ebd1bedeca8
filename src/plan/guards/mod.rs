//! Built-in checks on the plan of a merge request: what the MR will do to the cluster, judged
//! before the merge. One rule per file: `plan/destructive` (a prune that destroys data or a
//! namespace), `plan/recreate` (a rename or move that deletes and re-creates objects),
//! `plan/dangling-reference` (an object left pointing at something the MR removes) and
//! `plan/image-automation` (Flux image automation markers that silently do nothing).
//!
//! The guards read the computed plan ([`Planned`]: every unit with its objects on both sides)
//! and, for markers, the head's file texts. Each finding remembers the file it points into and
//! the object it is about, so [`Verdict::judge`] can apply `severity:`, `exceptions:` and the
//! objects' `kgate.dev/ignore` annotations like the check stage does for every other code.

mod dangling;
mod destructive;
mod image_automation;
mod recreate;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{Action, Object, ObjectKey, Origin, Planned, Revision, UnitSides};
use crate::diagnostic::{Diagnostic, ResourceRef};
use crate::exceptions::{self, ExceptionOptions, Exceptions};
use crate::manifest::{api_group, Manifest};
use crate::source::SourceFile;

pub const DESTRUCTIVE: &str = "plan/destructive";
pub const RECREATE: &str = "plan/recreate";
pub const DANGLING: &str = "plan/dangling-reference";
pub const IMAGE_AUTOMATION: &str = "plan/image-automation";

/// One finding of a guard, before exceptions.
pub(crate) struct Finding {
    pub diagnostic: Diagnostic,
    /// The file it points into, as the side it was found on has it.
    pub file: Arc<SourceFile>,
    /// The file is the base's version (a deleted object's place).
    pub at_base: bool,
    /// The object it is about at the base and at the head (their `kgate.dev/ignore` entries).
    pub base_object: Option<Value>,
    pub head_object: Option<Value>,
}

impl Finding {
    /// A finding at the field `pointer` of `obj` (`""`: the object itself); `at_base`: `obj` is
    /// the base's version.
    fn on(diagnostic: Diagnostic, obj: &Object, pointer: &str, at_base: bool) -> Finding {
        let (file, span) = obj.origin.locate(pointer);
        Finding {
            diagnostic: diagnostic
                .in_file(file.path.clone(), Some(span))
                .with_resource(Some(obj.resource.clone())),
            file,
            at_base,
            base_object: None,
            head_object: None,
        }
    }

    /// A finding at the field `pointer` of an agent object at the head.
    fn on_manifest(diagnostic: Diagnostic, m: &Arc<Manifest>, pointer: &str) -> Finding {
        let origin = Origin {
            manifest: m.clone(),
            files: None,
        };
        let (file, span) = origin.locate(pointer);
        Finding {
            diagnostic: diagnostic
                .in_file(file.path.clone(), Some(span))
                .with_resource(Some(m.resource.clone())),
            file,
            at_base: false,
            base_object: None,
            head_object: Some(m.json.clone()),
        }
    }

    /// The object the finding is about, on each side (for its exception annotation).
    fn about(mut self, base: Option<&Object>, head: Option<&Object>) -> Finding {
        self.base_object = base.map(|o| o.json.clone());
        self.head_object = head.map(|o| o.json.clone());
        self
    }
}

/// The guards' findings, excepted.
pub struct Verdict {
    pub diagnostics: Vec<Diagnostic>,
    /// Base files that findings point into and the head does not have: shown in code frames.
    pub base_files: Vec<Arc<SourceFile>>,
}

/// What the guards read: the plan and both revisions.
pub(crate) struct Context<'p, 'r> {
    pub planned: &'p Planned,
    pub base: &'p Revision<'r>,
    pub head: &'p Revision<'r>,
    /// Per unit: the identities it deletes and prunes. Empty for a unit kgate could not build
    /// as the agent does: its deletions are not certain (the agent may fail the build and
    /// change nothing), so no guard relies on them.
    pub pruned: Vec<BTreeSet<ObjectKey>>,
}

impl<'p, 'r> Context<'p, 'r> {
    pub fn new(planned: &'p Planned, base: &'p Revision<'r>, head: &'p Revision<'r>) -> Self {
        let pruned = planned
            .units
            .iter()
            .map(|u| {
                u.plan
                    .changes
                    .iter()
                    .filter(|c| u.built && c.action == Action::Delete && c.pruned)
                    .map(|c| key_of(&c.resource))
                    .collect()
            })
            .collect();
        Context {
            planned,
            base,
            head,
            pruned,
        }
    }

    /// The units in scope with their pruned identities.
    pub fn judged(&self) -> impl Iterator<Item = (&'p UnitSides, &BTreeSet<ObjectKey>)> {
        self.planned
            .units
            .iter()
            .zip(&self.pruned)
            .filter(|(u, _)| u.in_scope)
    }

    /// What is in the cluster after the merge, as far as the repository says: every unit's
    /// head objects, and its base objects it does not prune (orphaned, unbuildable, unparsed).
    pub fn provided_after(&self) -> BTreeSet<&'p ObjectKey> {
        let mut out = BTreeSet::new();
        for (u, pruned) in self.planned.units.iter().zip(&self.pruned) {
            out.extend(u.after.keys());
            out.extend(u.before.keys().filter(|k| !pruned.contains(*k)));
        }
        out
    }

    /// Every object of the base, by identity (the first unit's copy).
    pub fn base_objects(&self) -> BTreeMap<&'p ObjectKey, &'p Object> {
        let mut out = BTreeMap::new();
        for u in &self.planned.units {
            for (k, o) in &u.before {
                out.entry(k).or_insert(o);
            }
        }
        out
    }

    /// Every object of the head, by identity (the first unit's copy).
    pub fn head_objects(&self) -> BTreeMap<&'p ObjectKey, &'p Object> {
        let mut out = BTreeMap::new();
        for u in &self.planned.units {
            for (k, o) in &u.after {
                out.entry(k).or_insert(o);
            }
        }
        out
    }
}

/// The identity of a resource.
pub(crate) fn key_of(r: &ResourceRef) -> ObjectKey {
    ObjectKey {
        namespace: r.namespace.clone().unwrap_or_default(),
        kind: r.kind.clone(),
        name: r.name.clone(),
        group: api_group(&r.api_version).to_string(),
    }
}

/// `Kind ns/name` (or `Kind name`) of an identity.
pub(crate) fn describe(k: &ObjectKey) -> String {
    if k.namespace.is_empty() {
        format!("{} {}", k.kind, k.name)
    } else {
        format!("{} {}/{}", k.kind, k.namespace, k.name)
    }
}

/// Up to `max` names, then "and N more".
pub(crate) fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// `1 object` / `3 objects`.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Runs every guard on a plan. `from_base`: the MR is judged by the base revision's rules, so
/// an object's `kgate.dev/ignore` entry applies to a head object only when its base version
/// has it too (an MR cannot except itself).
pub fn judge(
    planned: &Planned,
    base: &Revision<'_>,
    head: &Revision<'_>,
    rules: &ExceptionOptions,
    from_base: bool,
) -> Verdict {
    let cx = Context::new(planned, base, head);
    let mut found = Vec::new();
    destructive::check(&cx, &mut found);
    recreate::check(&cx, &mut found);
    dangling::check(&cx, &mut found);
    let mut diagnostics = Vec::new();
    let mut base_files: BTreeMap<String, Arc<SourceFile>> = BTreeMap::new();
    for f in found {
        let mut d = f.diagnostic;
        let entries = annotation_entries(f.base_object.as_ref(), f.head_object.as_ref(), from_base);
        if let Some(reason) = entries
            .iter()
            .find(|(code, _)| exceptions::code_matches(code, &d.code))
            .map(|(_, reason)| reason)
        {
            d.suppressed = true;
            d.suppressed_reason = Some(format!("{reason} ({})", exceptions::ANNOTATION));
        }
        if f.at_base {
            let path = f
                .file
                .path
                .strip_prefix(head.prefix.as_str())
                .unwrap_or(&f.file.path);
            match head.files.get(path) {
                // The head has the same text: its code frame is right.
                Some(p) if *p.text == *f.file.text => {}
                // The head's file at this path differs: a frame would show the wrong lines, so
                // the finding keeps its line and column and gets none (the human report frames
                // a span only when its byte range is inside the text).
                Some(_) => {
                    if let Some(s) = &mut d.span {
                        s.start = usize::MAX;
                        s.end = usize::MAX;
                    }
                }
                None => {
                    base_files.insert(f.file.path.clone(), f.file.clone());
                }
            }
        }
        diagnostics.push(d);
    }
    diagnostics.extend(image_automation::check(&cx));
    // Severity overrides and config exceptions, as for every code (findings about the
    // exceptions themselves are the check stage's).
    Exceptions::new(rules).apply(&mut diagnostics);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
    Verdict {
        diagnostics,
        base_files: base_files.into_values().collect(),
    }
}

/// The `kgate.dev/ignore` entries that may except a finding about an object: judged from the
/// base, the base version's entries (an object only at the head has none that count); else the
/// head version's.
fn annotation_entries(
    base: Option<&Value>,
    head: Option<&Value>,
    from_base: bool,
) -> BTreeMap<String, String> {
    let entries = |v: Option<&Value>| -> BTreeMap<String, String> {
        v.and_then(|v| v["metadata"]["annotations"][exceptions::ANNOTATION].as_str())
            .map(|text| {
                exceptions::parse_annotation(text)
                    .into_iter()
                    .filter_map(|(code, reason)| reason.map(|r| (code, r)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match (from_base, head) {
        (true, None) | (false, None) => entries(base),
        (false, Some(h)) => entries(Some(h)),
        (true, Some(h)) => {
            let on_head = entries(Some(h));
            entries(base)
                .into_iter()
                .filter(|(code, _)| on_head.contains_key(code))
                .collect()
        }
    }
}
