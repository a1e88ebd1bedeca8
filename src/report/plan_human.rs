//! `kgate diff` for a terminal: one block per unit with changes, one line per object and per
//! changed field; coloured only when writing to a terminal.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, Change, Plan, UnitPlan};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A field value in one line: JSON (strings quoted), `(none)` when absent.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        other => other.to_string(),
    }
}

/// What happens to a removed object, in words.
pub fn delete_fate(unit: &UnitPlan, c: &Change) -> String {
    if unit.kind == "Folder" {
        "removed from the repository; no agent object says whether it is pruned".to_string()
    } else if c.pruned {
        "pruned: the agent deletes it".to_string()
    } else if let Some(why) = &c.note {
        format!("orphaned: {why}; it keeps running in the cluster")
    } else if unit.prune {
        // The unit prunes, but its agent object goes without cascading (Argo CD without its
        // resources finalizer).
        "orphaned: deleting the agent object leaves it running in the cluster".to_string()
    } else {
        "orphaned: prune is off, it keeps running in the cluster".to_string()
    }
}

/// One plan check finding in a line: `file:line:col: severity[code] message (status)`.
pub fn finding_line(d: &crate::diagnostic::Diagnostic) -> String {
    let loc = match d.span {
        Some(s) => format!("{}:{}:{}", d.file, s.line, s.col),
        None => d.file.clone(),
    };
    let status = if d.suppressed {
        format!(
            " (excepted: {})",
            d.suppressed_reason.as_deref().unwrap_or_default()
        )
    } else if d.pre_existing {
        " (already on the base)".to_string()
    } else {
        String::new()
    };
    super::common::escape_controls(&format!(
        "{loc}: {}[{}] {}{status}",
        d.severity.as_str(),
        d.code,
        d.message
    ))
    .into_owned()
}

pub fn unit_heading(u: &UnitPlan) -> String {
    let path = if u.paths.is_empty() {
        "no path".to_string()
    } else {
        u.paths
            .iter()
            .map(|p| if p.is_empty() { "." } else { p.as_str() })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if u.kind == "Folder" {
        return format!("Folder {path}");
    }
    let prune = if u.prune { "on" } else { "off" };
    format!("{} {} ({path}, prune {prune})", u.kind, u.name)
}

pub fn render(plan: &Plan, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let _ = writeln!(out, "Plan: {} → {}", plan.base, plan.head);
    for u in &plan.units {
        if u.changes.is_empty() && u.note.is_none() {
            continue;
        }
        let _ = writeln!(out, "\n{}", p.wrap("1", &unit_heading(u)));
        if let Some(note) = &u.note {
            let _ = writeln!(out, "  {}", p.wrap("33", &format!("! {note}")));
        }
        if let Some(lands) = &u.lands {
            let colour = if lands.automatic { "36" } else { "33" };
            let _ = writeln!(
                out,
                "  {}",
                p.wrap(colour, &format!("when: {}", lands.summary))
            );
        }
        if u.changes.is_empty() {
            let _ = writeln!(out, "  no changes");
        }
        for c in &u.changes {
            match c.action {
                Action::Create => {
                    let _ = writeln!(
                        out,
                        "  {}",
                        p.wrap("32", &format!("+ create {}", c.resource))
                    );
                    if let Some(a) = &c.agent {
                        let _ = writeln!(out, "      {}", p.wrap("33", &format!("! {a}")));
                    }
                }
                Action::Update => {
                    let _ = writeln!(
                        out,
                        "  {}",
                        p.wrap("33", &format!("~ update {}", c.resource))
                    );
                    for f in &c.fields {
                        let _ = writeln!(
                            out,
                            "      {}: {} → {}",
                            f.path,
                            p.wrap("31", &show_value(&f.before)),
                            p.wrap("32", &show_value(&f.after))
                        );
                    }
                    for v in &c.immutable {
                        let _ = writeln!(
                            out,
                            "      {}",
                            p.wrap("31", &format!("! immutable {}: {}", v.path, v.message))
                        );
                    }
                    if let Some(a) = &c.agent {
                        let _ = writeln!(out, "      {}", p.wrap("31", &format!("! {a}")));
                    }
                }
                Action::Delete => {
                    let _ = writeln!(
                        out,
                        "  {} ({})",
                        p.wrap("31", &format!("- delete {}", c.resource)),
                        delete_fate(u, c)
                    );
                }
            }
        }
    }
    if !plan.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.wrap(
                "31",
                &format!(
                    "! {} problem(s) reading the head revision; the plan may be incomplete:",
                    plan.problems.len()
                )
            )
        );
        for d in &plan.problems {
            let loc = match d.span {
                Some(s) => format!("{}:{}:{}", d.file, s.line, s.col),
                None => d.file.clone(),
            };
            let _ = writeln!(out, "  {loc}: {} [{}]", d.message, d.code);
        }
    }
    if !plan.findings.is_empty() {
        let _ = writeln!(out, "\n{}", p.wrap("1", "Plan checks:"));
        for d in &plan.findings {
            let colour = match d.severity {
                crate::diagnostic::Severity::Error if !d.suppressed => "31",
                _ => "33",
            };
            let _ = writeln!(out, "  {}", p.wrap(colour, &finding_line(d)));
        }
    }
    let (c, u, d) = plan.totals();
    let unchanged: usize = plan.units.iter().map(|u| u.unchanged).sum();
    let _ = writeln!(
        out,
        "\n{} to create, {} to update, {} to delete ({} unchanged) in {} unit{}",
        c,
        u,
        d,
        unchanged,
        plan.units.len(),
        if plan.units.len() == 1 { "" } else { "s" }
    );
    if !plan.untouched.is_empty() {
        let n = plan.untouched.len();
        let _ = writeln!(
            out,
            "{n} more unit{} untouched: nothing {} changed (not built; --all builds {})",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it reads" } else { "they read" },
            if n == 1 { "it" } else { "them" },
        );
    }
    out
}
