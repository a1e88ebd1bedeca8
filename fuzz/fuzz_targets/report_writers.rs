//! Every check-report writer on arbitrary findings: any code, message, help, file name, object
//! name, related location and policy details, with spans and masks on arbitrary source text.
//! Machine-readable formats must stay parseable (JSON, SARIF, GitLab, JUnit XML) and GitHub
//! workflow commands must not be broken out of.
#![no_main]

use std::collections::BTreeMap;

use kgate::diagnostic::{Diagnostic, Related, ResourceRef, Severity};
use kgate::load::Skipped;
use kgate::report::{Report, ResourceEntry, Summary};
use kgate::source::{Files, SourceFile, Span};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// A byte offset of `text` on a character boundary.
fn offset(u: &mut Unstructured<'_>, text: &str) -> Result<usize> {
    let mut at = u.int_in_range(0..=text.len())?;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    Ok(at)
}

fn span(u: &mut Unstructured<'_>, file: &SourceFile) -> Result<Span> {
    let a = offset(u, &file.text)?;
    let b = offset(u, &file.text)?;
    let (a, b) = (a.min(b), a.max(b));
    Ok(file.span_at_byte(a).to(file.span_at_byte(b)))
}

fn severity(u: &mut Unstructured<'_>) -> Result<Severity> {
    Ok(*u.choose(&[Severity::Error, Severity::Warning, Severity::Note])?)
}

fn resource(u: &mut Unstructured<'_>) -> Result<ResourceRef> {
    Ok(ResourceRef {
        api_version: u.arbitrary()?,
        kind: u.arbitrary()?,
        namespace: u.arbitrary()?,
        name: u.arbitrary()?,
    })
}

fn diagnostic(
    u: &mut Unstructured<'_>,
    sources: &[std::sync::Arc<SourceFile>],
) -> Result<Diagnostic> {
    let mut d = Diagnostic::new(
        u.arbitrary::<String>()?,
        severity(u)?,
        u.arbitrary::<String>()?,
    );
    if !sources.is_empty() && u.arbitrary()? {
        let f = u.choose(sources)?;
        d.file = f.path.clone();
        d.span = Some(span(u, f)?);
    } else {
        d.file = u.arbitrary()?;
    }
    if u.arbitrary()? {
        d.resource = Some(resource(u)?);
    }
    d.path = u.arbitrary()?;
    d.help = u.arbitrary()?;
    for _ in 0..u.int_in_range(0..=2)? {
        d.related.push(Related {
            message: u.arbitrary()?,
            file: u.arbitrary()?,
            line: u.arbitrary()?,
            column: u.arbitrary()?,
        });
    }
    d.rendered_for = u.arbitrary()?;
    d.suppressed = u.arbitrary()?;
    d.suppressed_reason = u.arbitrary()?;
    d.pre_existing = u.arbitrary()?;
    if u.arbitrary()? {
        let mut m = serde_json::Map::new();
        m.insert(u.arbitrary()?, serde_json::Value::String(u.arbitrary()?));
        d.details = Some(m);
    }
    Ok(d)
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let files = Files::new();
    let mut sources = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let path: String = u.arbitrary()?;
        let text: String = u.arbitrary()?;
        sources.push(files.add(path, text));
    }
    let mut masks: BTreeMap<u32, Vec<(usize, usize)>> = BTreeMap::new();
    for f in &sources {
        if u.arbitrary()? {
            let s = span(u, f)?;
            masks.entry(f.id).or_default().push((s.start, s.end));
        }
    }
    let mut diagnostics = Vec::new();
    for _ in 0..u.int_in_range(0..=6)? {
        diagnostics.push(diagnostic(u, &sources)?);
    }
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut resources = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        resources.push(ResourceEntry {
            file: u.arbitrary()?,
            line: u.arbitrary()?,
            resource: resource(u)?,
        });
    }
    let skipped = vec![Skipped {
        file: u.arbitrary()?,
        line: u.arbitrary()?,
        reason: u.arbitrary()?,
    }];
    let mut summary = Summary {
        files: u.int_in_range(0..=1000)?,
        resources: resources.len(),
        skipped: 1,
        ..Summary::default()
    };
    summary.count_findings(&diagnostics);
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
        files: &files,
        masks: &masks,
        skipped: &skipped,
        verbose: u.arbitrary()?,
        color: false,
        kubernetes_version: "1.37",
        resources: &resources,
        // `--fail-on none` too.
        fail_level: if u.arbitrary()? {
            Some(severity(u)?)
        } else {
            None
        },
        shard: None,
        quiet: u.arbitrary()?,
    };
    kgate_fuzz::render_all(&report);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
