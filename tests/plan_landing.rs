//! When a merge request lands, per unit of the plan (`kgate diff`): Flux intervals, sources,
//! dependencies and suspension; Argo CD automated or manual sync and AppProject sync windows.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\ndata:\n  k: {value}\n")
}

/// A repository whose units each hold one ConfigMap, changed by the MR.
fn changed(repo: &Repo, dirs: &[&str]) -> String {
    for d in dirs {
        repo.write(&format!("{d}/cm.yaml"), &cm(d, "one"));
    }
    let base = repo.commit("base");
    for d in dirs {
        repo.write(&format!("{d}/cm.yaml"), &cm(d, "two"));
    }
    base
}

#[test]
fn flux_units_land_after_their_source_and_dependencies_unless_suspended() {
    let repo = Repo::new();
    repo.write(
        "clusters/prod/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: ssh://git@example.com/fleet.git\n  ref:\n    branch: main\n",
    );
    repo.write(
        "clusters/prod/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  dependsOn:\n    - name: infra\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: paused\n  namespace: flux-system\nspec:\n  interval: 10m\n  suspend: true\n  path: ./paused\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    let base = changed(&repo, &["apps", "paused"]);
    let plan = repo.plan(&["--base", &base]);
    let apps = &unit(&plan, "flux-system/apps")["lands"];
    assert_eq!(apps["automatic"], true);
    assert_eq!(apps["interval"], "10m");
    assert_eq!(apps["source_interval"], "1m0s");
    assert_eq!(apps["depends_on"], serde_json::json!(["flux-system/infra"]));
    assert_eq!(
        apps["summary"],
        "Flux applies it once GitRepository flux-system/flux-system has fetched the merge \
         (every 1m0s), after flux-system/infra is ready (dependsOn), and again every 10m \
         (spec.interval)"
    );
    let paused = &unit(&plan, "flux-system/paused")["lands"];
    assert_eq!(paused["automatic"], false);
    assert!(paused["summary"]
        .as_str()
        .unwrap()
        .starts_with("not applied while suspended (spec.suspend: true)"));
    let human = stdout(&repo.kgate(&["diff", "--base", &base]));
    assert!(
        human.contains("  when: not applied while suspended (spec.suspend: true)"),
        "{human}"
    );
    let md = stdout(&repo.kgate(&["diff", "--base", &base, "--format", "markdown"]));
    assert!(md.contains("When: Flux applies it once"), "{md}");
}

fn app(name: &str, automated: bool) -> String {
    let sync = if automated {
        "  syncPolicy:\n    automated:\n      prune: true\n"
    } else {
        ""
    };
    format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: shop\n  source:\n    repoURL: https://git.example.com/shop.git\n    path: {name}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n{sync}---\n")
}

/// An AppProject `shop` with the given windows (YAML list items).
fn project(windows: &str) -> String {
    format!("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: shop\n  namespace: argocd\nspec:\n  sourceRepos: ['*']\n  destinations:\n    - server: '*'\n      namespace: '*'\n  syncWindows:\n{windows}")
}

fn lands<'a>(plan: &'a Value, name: &str) -> &'a Value {
    &unit(plan, &format!("argocd/{name}"))["lands"]
}

#[test]
fn argo_sync_is_automated_or_manual_and_sync_windows_say_when() {
    let repo = Repo::new();
    repo.write(
        "argocd/apps.yaml",
        &[
            app("auto", true),
            app("manual", false),
            app("frozen", true),
            app("nightly", true),
            app("berlin", true),
        ]
        .concat(),
    );
    // A deny window that is always open for `frozen`, an allow window that never opens (30
    // February) for `nightly`, one in another time zone for `berlin`, and one for nobody here.
    repo.write(
        "argocd/project.yaml",
        &project(
            "    - kind: deny\n      schedule: '* * * * *'\n      duration: 1h\n      applications: [frozen]\n      manualSync: true\n    - kind: allow\n      schedule: '0 0 30 2 *'\n      duration: 2h\n      applications: ['night*']\n    - kind: allow\n      schedule: '0 2 * * *'\n      duration: 1h\n      timeZone: Europe/Berlin\n      applications: [berlin]\n    - kind: deny\n      schedule: '* * * * *'\n      duration: 1h\n      applications: [other]\n",
        ),
    );
    let base = changed(&repo, &["auto", "manual", "frozen", "nightly", "berlin"]);
    let plan = repo.plan(&["--base", &base]);

    let auto = lands(&plan, "auto");
    assert_eq!(auto["automatic"], true);
    assert!(auto.get("windows").is_none(), "{auto:#}");
    assert!(auto["summary"]
        .as_str()
        .unwrap()
        .starts_with("Argo CD syncs it automatically once it sees the commit"));

    let manual = lands(&plan, "manual");
    assert_eq!(manual["automatic"], false);
    assert!(manual["summary"]
        .as_str()
        .unwrap()
        .starts_with("manual sync (no spec.syncPolicy.automated)"));

    let frozen = lands(&plan, "frozen");
    assert_eq!(frozen["automatic"], false);
    assert_eq!(frozen["windows"][0]["open_now"], true);
    assert_eq!(frozen["windows"][0]["manual_sync"], true);
    assert!(
        frozen["summary"].as_str().unwrap().contains(
            "a sync window of AppProject argocd/shop denies syncing now (deny `* * * * *` for \
             1h): nothing is synced until it closes (manual syncs are allowed)"
        ),
        "{frozen:#}"
    );

    let nightly = lands(&plan, "nightly");
    assert_eq!(nightly["automatic"], false);
    assert_eq!(nightly["windows"][0]["open_now"], false);
    assert!(
        nightly["summary"].as_str().unwrap().contains(
            "AppProject argocd/shop only allows syncing in its maintenance windows (allow `0 0 \
             30 2 *` for 2h), closed now"
        ),
        "{nightly:#}"
    );

    let berlin = lands(&plan, "berlin");
    assert_eq!(berlin["windows"][0]["open_now"], Value::Null);
    assert_eq!(berlin["windows"][0]["time_zone"], "Europe/Berlin");
    assert!(
        berlin["summary"].as_str().unwrap().contains(
            "kgate cannot tell whether the allow `0 2 * * *` for 1h Europe/Berlin window"
        ),
        "{berlin:#}"
    );
}
