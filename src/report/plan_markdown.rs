//! `kgate diff --format markdown`: a merge-request comment — a summary table of the units, then
//! one collapsible `<details>` per unit with its changes.

use std::fmt::Write;

use super::plan_human::{delete_fate, show_value, unit_heading};
use crate::plan::{Action, Plan};

/// Escapes text for a table cell or inline text (pipes, backticks, HTML).
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('`', "'")
}

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let (c, u, d) = plan.totals();
    let _ = writeln!(out, "### kgate plan\n");
    let _ = writeln!(
        out,
        "`{}` → `{}`: **{c}** to create, **{u}** to update, **{d}** to delete\n",
        cell(&plan.base),
        cell(&plan.head)
    );
    let _ = writeln!(
        out,
        "| unit | path | create | update | delete | unchanged | notes |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
    for unit in &plan.units {
        let path = unit
            .paths
            .iter()
            .map(|p| if p.is_empty() { "." } else { p.as_str() })
            .collect::<Vec<_>>()
            .join(", ");
        let mut notes = Vec::new();
        if unit.kind != "Folder" {
            notes.push(if unit.prune {
                "prune".to_string()
            } else {
                "no prune".to_string()
            });
        }
        if let Some(n) = &unit.note {
            notes.push(format!("⚠️ {n}"));
        }
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} | {} | {} | {} |",
            unit.kind,
            cell(&unit.name),
            cell(&path),
            unit.count(Action::Create),
            unit.count(Action::Update),
            unit.count(Action::Delete),
            unit.unchanged,
            cell(&notes.join("; "))
        );
    }
    if !plan.untouched.is_empty() {
        let _ = writeln!(
            out,
            "\n{} more unit{} untouched (nothing {} changed): {}",
            plan.untouched.len(),
            if plan.untouched.len() == 1 { "" } else { "s" },
            if plan.untouched.len() == 1 {
                "it reads"
            } else {
                "they read"
            },
            cell(&plan.untouched.join(", "))
        );
    }
    for unit in plan.units.iter().filter(|u| !u.changes.is_empty()) {
        let _ = writeln!(
            out,
            "\n<details><summary>{} — {} change{}</summary>\n",
            cell(&unit_heading(unit)),
            unit.changes.len(),
            if unit.changes.len() == 1 { "" } else { "s" }
        );
        if let Some(lands) = &unit.lands {
            let _ = writeln!(out, "When: {}\n", cell(&lands.summary));
        }
        // Four backticks: a value holding a three-backtick fence cannot close the block early.
        let _ = writeln!(out, "````diff");
        for ch in &unit.changes {
            match ch.action {
                Action::Create => {
                    let _ = writeln!(out, "+ create {}", ch.resource);
                    if let Some(a) = &ch.agent {
                        let _ = writeln!(out, "!   {a}");
                    }
                }
                Action::Update => {
                    let _ = writeln!(out, "! update {}", ch.resource);
                    for f in &ch.fields {
                        let _ = writeln!(out, "-   {}: {}", f.path, show_value(&f.before));
                        let _ = writeln!(out, "+   {}: {}", f.path, show_value(&f.after));
                    }
                    for v in &ch.immutable {
                        let _ = writeln!(out, "!   immutable {}: {}", v.path, v.message);
                    }
                    if let Some(a) = &ch.agent {
                        let _ = writeln!(out, "!   {a}");
                    }
                }
                Action::Delete => {
                    let _ = writeln!(out, "- delete {} ({})", ch.resource, delete_fate(unit, ch));
                }
            }
        }
        let _ = writeln!(out, "````\n\n</details>");
    }
    if !plan.findings.is_empty() {
        let _ = writeln!(out, "\n**Plan checks**\n");
        for d in &plan.findings {
            let _ = writeln!(out, "- {}", cell(&super::plan_human::finding_line(d)));
        }
    }
    if !plan.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n> ⚠️ {} file problem(s) in the head revision; the plan may be incomplete:",
            plan.problems.len()
        );
        for d in &plan.problems {
            let line = d.span.map(|s| format!(":{}", s.line)).unwrap_or_default();
            let _ = writeln!(out, "> - `{}{}`: {}", cell(&d.file), line, cell(&d.message));
        }
    }
    out
}
