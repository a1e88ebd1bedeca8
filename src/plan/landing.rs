//! When the change will land: per unit, when its agent applies the merged commit. Flux applies a
//! Kustomization once its source has fetched the commit and again every `spec.interval`, not at
//! all while `spec.suspend: true`, and only after its `dependsOn` are ready. Argo CD syncs an
//! Application automatically only with `spec.syncPolicy.automated`, and only when its
//! AppProject's sync windows allow it: an open `deny` window blocks syncing, and `allow` windows
//! permit it only while one is open.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::cron::{go_duration, Schedule};
use super::{Revision, Unit};

/// When a unit's changes are applied.
#[derive(Debug, Clone, Serialize)]
pub struct Landing {
    /// In words.
    pub summary: String,
    /// The agent applies the merge by itself, now (not suspended, automated, no window closed).
    pub automatic: bool,
    /// Flux: `spec.interval` of the Kustomization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Flux: `spec.interval` of its source, when the repository defines it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_interval: Option<String>,
    /// Flux: the Kustomizations that must be ready first (`namespace/name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Argo CD: the AppProject sync windows that apply to the Application.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<SyncWindow>,
}

/// One Argo CD sync window that applies to an Application.
#[derive(Debug, Clone, Serialize)]
pub struct SyncWindow {
    pub project: String,
    /// `allow` or `deny`.
    pub kind: String,
    pub schedule: String,
    pub duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Manual syncs are allowed while the window blocks automatic ones.
    pub manual_sync: bool,
    /// Open at the time of the run; null when kgate cannot tell (a time zone other than UTC, a
    /// schedule it cannot read).
    pub open_now: Option<bool>,
    /// The next opening (UTC, RFC 3339) when closed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_open: Option<String>,
}

/// When `unit` (declared at `rev`) lands, as of `now`; None for plain folders (no agent).
pub fn landing(unit: &Unit, rev: &Revision<'_>, now: OffsetDateTime) -> Option<Landing> {
    let agent = unit.agent.as_ref()?;
    let spec = &agent.json["spec"];
    match unit.kind {
        "Kustomization" => Some(flux(unit, spec, rev)),
        "Application" => Some(argo(unit, &agent.json, rev, now)),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn flux(unit: &Unit, spec: &Value, rev: &Revision<'_>) -> Landing {
    let own_ns = unit.name.split_once('/').map(|(ns, _)| ns).unwrap_or("");
    let interval = text(&spec["interval"]);
    let source = &spec["sourceRef"];
    let source_kind = source["kind"].as_str().unwrap_or("GitRepository");
    let source_name = source["name"].as_str().unwrap_or_default();
    let source_ns = source["namespace"].as_str().unwrap_or(own_ns);
    let source_interval = rev
        .objects()
        .find(|(_, m)| {
            m.resource.kind == source_kind
                && m.group() == "source.toolkit.fluxcd.io"
                && m.resource.name == source_name
                && m.resource.namespace.as_deref().unwrap_or_default() == source_ns
        })
        .and_then(|(_, m)| text(&m.json["spec"]["interval"]));
    let depends_on: Vec<String> = spec["dependsOn"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    let name = d["name"].as_str()?;
                    let ns = d["namespace"].as_str().unwrap_or(own_ns);
                    Some(format!("{ns}/{name}"))
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = if unit.suspended {
        "not applied while suspended (spec.suspend: true): nothing lands until someone resumes it"
            .to_string()
    } else {
        let fetch = match &source_interval {
            Some(every) => format!(
                "once {source_kind} {source_ns}/{source_name} has fetched the merge (every {every})"
            ),
            None => format!("once {source_kind} {source_ns}/{source_name} has fetched the merge"),
        };
        let mut s = format!("Flux applies it {fetch}");
        if !depends_on.is_empty() {
            s.push_str(&format!(
                ", after {} {} ready (dependsOn)",
                depends_on.join(", "),
                if depends_on.len() == 1 { "is" } else { "are" }
            ));
        }
        if let Some(every) = &interval {
            s.push_str(&format!(", and again every {every} (spec.interval)"));
        }
        s
    };
    Landing {
        summary,
        automatic: !unit.suspended,
        interval,
        source_interval,
        depends_on,
        windows: Vec::new(),
    }
}

fn argo(unit: &Unit, app: &Value, rev: &Revision<'_>, now: OffsetDateTime) -> Landing {
    let automated = !unit.suspended;
    let windows = sync_windows(app, rev, now);
    let mut parts = vec![if automated {
        "Argo CD syncs it automatically once it sees the commit (it polls every 3 minutes by \
         default; a webhook makes it immediate)"
            .to_string()
    } else {
        "manual sync (no spec.syncPolicy.automated): Argo CD shows it OutOfSync and applies \
         nothing until someone syncs"
            .to_string()
    }];
    let mut blocked = false;
    let describe = |w: &SyncWindow| {
        let zone = w
            .time_zone
            .as_deref()
            .map(|z| format!(" {z}"))
            .unwrap_or_default();
        format!("{} `{}` for {}{zone}", w.kind, w.schedule, w.duration)
    };
    let deny_open: Vec<&SyncWindow> = windows
        .iter()
        .filter(|w| w.kind == "deny" && w.open_now == Some(true))
        .collect();
    let allows: Vec<&SyncWindow> = windows.iter().filter(|w| w.kind == "allow").collect();
    if let Some(w) = deny_open.first() {
        blocked = true;
        let manual = if w.manual_sync {
            " (manual syncs are allowed)"
        } else {
            ""
        };
        parts.push(format!(
            "a sync window of AppProject {} denies syncing now ({}): nothing is synced until it \
             closes{manual}",
            w.project,
            describe(w)
        ));
    } else if !allows.is_empty() && allows.iter().all(|w| w.open_now == Some(false)) {
        blocked = true;
        let next = allows
            .iter()
            .filter_map(|w| w.next_open.clone())
            .min()
            .map(|t| format!("; the next opens at {t}"))
            .unwrap_or_default();
        parts.push(format!(
            "AppProject {} only allows syncing in its maintenance windows ({}), closed now{next}",
            allows[0].project,
            allows
                .iter()
                .map(|w| describe(w))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for w in windows.iter().filter(|w| w.open_now.is_none()) {
        parts.push(format!(
            "kgate cannot tell whether the {} window of AppProject {} is open now",
            describe(w),
            w.project
        ));
    }
    Landing {
        summary: parts.join("; "),
        automatic: automated && !blocked,
        interval: None,
        source_interval: None,
        depends_on: Vec::new(),
        windows,
    }
}

/// The sync windows of the Application's AppProject that apply to it: a window applies when
/// one of its `applications`, `namespaces` or `clusters` patterns matches the Application's
/// name, destination namespace or destination cluster (server or name).
fn sync_windows(app: &Value, rev: &Revision<'_>, now: OffsetDateTime) -> Vec<SyncWindow> {
    let spec = &app["spec"];
    let project = spec["project"].as_str().unwrap_or("default");
    let app_ns = app["metadata"]["namespace"].as_str().unwrap_or_default();
    let Some(proj) = rev
        .objects()
        .filter(|(_, m)| {
            m.resource.kind == "AppProject"
                && m.group() == "argoproj.io"
                && m.resource.name == project
        })
        .min_by_key(|(_, m)| m.resource.namespace.as_deref() != Some(app_ns))
        .map(|(_, m)| m)
    else {
        return Vec::new();
    };
    let name = app["metadata"]["name"].as_str().unwrap_or_default();
    let dest = &spec["destination"];
    let dest_ns = dest["namespace"].as_str().unwrap_or_default();
    let clusters: Vec<&str> = [&dest["server"], &dest["name"]]
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    let matches = |list: &Value, values: &[&str]| {
        list.as_array().is_some_and(|pats| {
            pats.iter().filter_map(Value::as_str).any(|p| {
                globset::Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .is_ok_and(|g| values.iter().any(|v| g.is_match(v)))
            })
        })
    };
    let mut out = Vec::new();
    for w in proj.json["spec"]["syncWindows"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let applies = matches(&w["applications"], &[name])
            || matches(&w["namespaces"], &[dest_ns])
            || matches(&w["clusters"], &clusters);
        if !applies {
            continue;
        }
        let schedule = w["schedule"].as_str().unwrap_or_default().to_string();
        let duration = w["duration"].as_str().unwrap_or_default().to_string();
        let time_zone = text(&w["timeZone"]);
        let utc = time_zone
            .as_deref()
            .is_none_or(|z| matches!(z, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z"));
        let parsed = Schedule::parse(&schedule).ok();
        let length = go_duration(&duration);
        let (open_now, next_open) = match (utc, &parsed, length) {
            (true, Some(s), Some(len)) => {
                let open = s.open_at(now, len);
                let next = (!open).then(|| s.next_after(now)).flatten().and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
                (Some(open), next)
            }
            _ => (None, None),
        };
        out.push(SyncWindow {
            project: format!(
                "{}/{}",
                proj.resource.namespace.as_deref().unwrap_or_default(),
                proj.resource.name
            )
            .trim_start_matches('/')
            .to_string(),
            kind: w["kind"].as_str().unwrap_or("allow").to_string(),
            schedule,
            duration,
            time_zone,
            manual_sync: w["manualSync"].as_bool().unwrap_or(false),
            open_now,
            next_open,
        });
    }
    out
}
