//! Property test: random secret values, put into every place a secret can live in a GitOps
//! repository, never appear in anything kgate prints — no report format, no plan, no rendered
//! output, no error message — neither as written nor base64-encoded.
//!
//! A seeded xorshift generator makes every run reproducible: a failure names its seed.

#[path = "common/git_repo.rs"]
mod git_repo;

use std::fmt::Write as _;

use base64::Engine as _;
use git_repo::Repo;

/// xorshift64*: small, seedable, good enough to draw test values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Punctuation that real passwords hold and that is safe inside a double-quoted YAML scalar,
/// a kustomize `key=value` literal and an env file.
const SYMBOLS: &[u8] = b"-_+=!.~*";

/// A random alphanumeric run that surely holds two digits and a letter (so that prefixed token
/// shapes pass kgate's "looks like a token" test whatever the draw).
fn alnum(rng: &mut Rng, len: usize) -> String {
    let mut s = rng.pick(ALNUM, len - 3);
    let at = rng.below(s.len() + 1);
    s.insert_str(at, &format!("{}{}x", rng.below(10), rng.below(10)));
    s
}

/// A password: alphanumeric runs joined by punctuation, 20–40 characters.
fn password(rng: &mut Rng) -> String {
    let len = 8 + rng.below(6);
    let mut s = alnum(rng, len);
    for _ in 0..1 + rng.below(2) {
        s.push(SYMBOLS[rng.below(SYMBOLS.len())] as char);
        let len = 8 + rng.below(6);
        s.push_str(&alnum(rng, len));
    }
    s
}

fn github_token(rng: &mut Rng) -> String {
    format!("ghp_{}", alnum(rng, 36))
}

fn aws_key_id(rng: &mut Rng) -> String {
    format!("AKIA{}", rng.pick(UPPER_DIGITS, 16))
}

/// A digits-only password (a PIN, a numeric API key): YAML reads it as a number.
fn numeric(rng: &mut Rng) -> String {
    format!("{}{}", 1 + rng.below(9), rng.pick(b"0123456789", 13))
}

/// A PEM private key; its body lines are what must never leak.
fn pem(rng: &mut Rng) -> (String, Vec<String>) {
    let body: Vec<String> = (0..3).map(|_| rng.pick(BASE64, 64)).collect();
    let text = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        body.join("\n")
    );
    (text, body)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The strings whose presence in output means `secret` leaked: the value, its base64 form,
/// and every alphanumeric run of 8+ characters (escaping in Markdown, GitHub commands or XML
/// may split the value at punctuation; a random 8-character run appears nowhere by chance).
fn needles(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string(), b64(secret)];
    out.extend(
        secret
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|run| run.len() >= 8)
            .map(str::to_string),
    );
    out.sort();
    out.dedup();
    out
}

/// One drawn set of secrets for a revision.
struct Secrets {
    /// (where it was placed, the value): every one must stay out of every output.
    asserted: Vec<(&'static str, String)>,
    env_password: String,
    env_numeric: String,
    env_github: String,
    annotation_token: String,
    secret_data: String,
    secret_string_data: String,
    secret_aws: String,
    pem: String,
    pem_body: Vec<String>,
    secret_wrong_type: String,
    secret_numeric: String,
    configmap_api_key: String,
    configmap_numeric: String,
    generator_literal: String,
    generator_literal_plain_key: String,
    generator_file: String,
    generator_env_file: String,
    flux_password: String,
    flux_token: String,
    flux_from_secret: String,
    configmap_generator_token: String,
    broken_yaml: String,
    schema_error_value: String,
    /// Not asserted: a random value in a field whose name says nothing (see `repo_files`).
    undetectable: String,
}

impl Secrets {
    fn draw(rng: &mut Rng) -> Secrets {
        let (pem, pem_body) = pem(rng);
        let mut s = Secrets {
            asserted: Vec::new(),
            env_password: password(rng),
            env_numeric: numeric(rng),
            env_github: github_token(rng),
            annotation_token: password(rng),
            secret_data: password(rng),
            secret_string_data: password(rng),
            secret_aws: aws_key_id(rng),
            pem,
            pem_body,
            secret_wrong_type: password(rng),
            secret_numeric: numeric(rng),
            configmap_api_key: password(rng),
            configmap_numeric: numeric(rng),
            generator_literal: password(rng),
            generator_literal_plain_key: password(rng),
            generator_file: password(rng),
            generator_env_file: password(rng),
            flux_password: password(rng),
            flux_token: github_token(rng),
            flux_from_secret: password(rng),
            configmap_generator_token: password(rng),
            broken_yaml: password(rng),
            schema_error_value: github_token(rng),
            undetectable: password(rng),
        };
        s.asserted = vec![
            ("env value named DB_PASSWORD", s.env_password.clone()),
            (
                "numeric env value named PIN_PASSWORD",
                s.env_numeric.clone(),
            ),
            ("GitHub token in an env value", s.env_github.clone()),
            ("annotation named …/api-token", s.annotation_token.clone()),
            ("Secret data (base64)", s.secret_data.clone()),
            ("Secret stringData", s.secret_string_data.clone()),
            ("AWS key id in Secret stringData", s.secret_aws.clone()),
            (
                "Secret stringData of the wrong type",
                s.secret_wrong_type.clone(),
            ),
            ("ConfigMap data API_KEY", s.configmap_api_key.clone()),
            (
                "numeric ConfigMap data DB_PASSWORD",
                s.configmap_numeric.clone(),
            ),
            (
                "secretGenerator literal password=",
                s.generator_literal.clone(),
            ),
            (
                "secretGenerator literal color=",
                s.generator_literal_plain_key.clone(),
            ),
            ("secretGenerator file", s.generator_file.clone()),
            ("secretGenerator env file", s.generator_env_file.clone()),
            ("Flux substitute db_password", s.flux_password.clone()),
            ("Flux substitute token (GitHub token)", s.flux_token.clone()),
            (
                "Flux substituteFrom Secret value",
                s.flux_from_secret.clone(),
            ),
            (
                "configMapGenerator literal API_TOKEN=",
                s.configmap_generator_token.clone(),
            ),
            ("password on a broken YAML line", s.broken_yaml.clone()),
            (
                "token on a field with a schema error",
                s.schema_error_value.clone(),
            ),
        ];
        for (i, line) in s.pem_body.clone().into_iter().enumerate() {
            s.asserted
                .push((["PEM line 1", "PEM line 2", "PEM line 3"][i], line));
        }
        s
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().fold(String::new(), |mut out, l| {
        let _ = writeln!(out, "{pad}{l}");
        out
    })
}

/// The repository's files for one set of secrets. Every object also carries findings (schema
/// errors next to the secrets, a `latest` image) so that code frames show the secrets' lines.
fn repo_files(s: &Secrets) -> Vec<(&'static str, String)> {
    let deployment = format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations:
    example.com/api-token: "{annotation}"
    example.com/description: "{undetectable}"
  unknownMetadataField: true
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:latest
          env:
            - name: DB_PASSWORD
              value: "{password}"
              bogus: 1
            - name: PIN_PASSWORD
              value: {numeric}
            - name: UPSTREAM
              value: "{github}"
            - name: SCHEMA_BROKEN
              value: "{schema_error}"
              valueFrom: 7
"#,
        annotation = s.annotation_token,
        // A random value under a name that says nothing about credentials cannot be told from
        // any other text: kgate is not expected to hide it, so it is not asserted.
        undetectable = s.undetectable,
        password = s.env_password,
        numeric = s.env_numeric,
        github = s.env_github,
        schema_error = s.schema_error_value,
    );
    let secret = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: prod
type: Opaque
data:
  blob: {data}
stringData:
  password: "{string_data}"
  aws: {aws}
  tls.key: |
{pem}  wrong: ["{wrong}"]
  pin: {numeric}
unknownTopLevel: x
"#,
        data = b64(&s.secret_data),
        string_data = s.secret_string_data,
        aws = s.secret_aws,
        pem = indent(&s.pem, 4),
        wrong = s.secret_wrong_type,
        numeric = s.secret_numeric,
    );
    let configmap = format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: prod
data:
  API_KEY: "{api_key}"
  DB_PASSWORD: {numeric}
"#,
        api_key = s.configmap_api_key,
        numeric = s.configmap_numeric,
    );
    let broken = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: broken
stringData:
  password: "{secret}
  other: [unclosed
"#,
        secret = s.broken_yaml,
    );
    let generator = format!(
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: gen
resources:
  - deploy.yaml
secretGenerator:
  - name: generated
    literals:
      - password={literal}
      - color={plain}
    files:
      - token.txt
    envs:
      - creds.env
configMapGenerator:
  - name: settings
    literals:
      - API_TOKEN={cm_token}
"#,
        literal = s.generator_literal,
        plain = s.generator_literal_plain_key,
        cm_token = s.configmap_generator_token,
    );
    let generator_deploy = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: gen
spec:
  selector:
    matchLabels: {app: gen}
  template:
    metadata:
      labels: {app: gen}
    spec:
      containers:
        - name: gen
          image: busybox:latest
          envFrom:
            - secretRef: {name: generated}
          extra: field
"#
    .to_string();
    let flux = format!(
        r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./flux/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: repo
  postBuild:
    substitute:
      db_password: "{password}"
      api_token: "{token}"
    substituteFrom:
      - kind: Secret
        name: cluster-vars
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-vars
  namespace: flux-system
stringData:
  cluster_seed: "{from_secret}"
"#,
        password = s.flux_password,
        token = s.flux_token,
        from_secret = s.flux_from_secret,
    );
    let flux_app = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: flux-app
  namespace: prod
  labels:
    # Label values under names that say nothing: only where the value came from (a secret
    # variable, a Secret) tells kgate it is secret.
    pw: "${db_password}"
    seed: "${cluster_seed}"
  annotations:
    example.com/api-token: "${api_token}"
spec:
  selector:
    matchLabels: {app: flux-app}
  template:
    metadata:
      labels: {app: flux-app}
    spec:
      containers:
        - name: app
          image: redis:latest
          env:
            - name: DB_PASSWORD
              value: "${db_password}"
              unknown: 1
"#
    .to_string();
    vec![
        ("apps/web/deployment.yaml", deployment),
        ("apps/web/secret.yaml", secret),
        ("apps/web/configmap.yaml", configmap),
        ("apps/broken/broken.yaml", broken),
        ("apps/gen/kustomization.yaml", generator),
        ("apps/gen/deploy.yaml", generator_deploy),
        ("apps/gen/token.txt", format!("{}\n", s.generator_file)),
        (
            "apps/gen/creds.env",
            format!("API_SECRET={}\n", s.generator_env_file),
        ),
        ("clusters/prod/apps.yaml", flux),
        ("flux/app/deployment.yaml", flux_app),
    ]
}

const CHECK_FORMATS: &[&str] = &[
    "human", "json", "sarif", "junit", "github", "gitlab", "markdown",
];
const PLAN_FORMATS: &[&str] = &["human", "markdown", "json"];

/// Fails with every leak of every secret in one run's output.
fn assert_no_leak(what: &str, out: &std::process::Output, secrets: &[&Secrets], seed: u64) {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The run did its job (0/1); a crash would prove nothing about leaks.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "seed {seed}: `{what}` failed: {text}"
    );
    let mut leaks = Vec::new();
    for s in secrets {
        for (place, value) in &s.asserted {
            for needle in needles(value) {
                if text.contains(&needle) {
                    leaks.push(format!("{place}: {needle:?}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "seed {seed}: `{what}` printed secrets:\n{}\n--- output ---\n{text}",
        leaks.join("\n")
    );
}

fn write_all(repo: &Repo, files: &[(&str, String)]) {
    for (path, text) in files {
        repo.write(path, text);
    }
}

#[test]
fn no_output_contains_a_secret() {
    for seed in [0x5EC2E7_u64, 0xBADC0FFEE, 0x1234_5678_9ABC] {
        let mut rng = Rng(seed);
        let base = Secrets::draw(&mut rng);
        let head = Secrets::draw(&mut rng);
        let repo = Repo::new();
        write_all(&repo, &repo_files(&base));
        let base_sha = repo.commit("base");
        write_all(&repo, &repo_files(&head));
        repo.commit("head");
        let both = [&base, &head];

        for format in CHECK_FORMATS {
            for extra in [&[][..], &["--verbose"][..]] {
                let mut args = vec!["check", ".", "--format", format];
                args.extend_from_slice(extra);
                let out = repo.kgate(&args);
                assert_no_leak(&args.join(" "), &out, &[&head], seed);
                // Exit 1: the findings next to the secrets were reported.
                assert_eq!(out.status.code(), Some(1), "seed {seed}: {args:?}");
            }
            let args = [
                "check", ".", "--base", &base_sha, "--all", "--format", format,
            ];
            assert_no_leak(&args.join(" "), &repo.kgate(&args), &both, seed);
            let args = ["check", ".", "--no-render", "--format", format];
            assert_no_leak(&args.join(" "), &repo.kgate(&args), &[&head], seed);
        }
        for format in PLAN_FORMATS {
            let args = ["diff", "--base", &base_sha, "--format", format];
            let out = repo.kgate(&args);
            assert_eq!(out.status.code(), Some(0), "seed {seed}: {args:?}");
            assert_no_leak(&args.join(" "), &out, &both, seed);
        }
        for dir in ["apps/gen", "clusters/prod", "apps/web"] {
            let args = ["render", dir];
            assert_no_leak(&args.join(" "), &repo.kgate(&args), &[&head], seed);
        }
        // A single file on standard input: the broken YAML and the schema errors alone.
        for file in ["apps/broken/broken.yaml", "apps/web/deployment.yaml"] {
            let text = std::fs::read(repo.path().join(file)).unwrap();
            let out = kgate_stdin(&repo, &["check", "-", "--format", "human"], &text);
            assert_no_leak(&format!("check - < {file}"), &out, &[&head], seed);
        }
    }
}

fn kgate_stdin(repo: &Repo, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(args)
        .current_dir(repo.path())
        .env_remove("GITHUB_BASE_REF")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The generator draws what the test claims: secret shapes kgate must recognise, and values
/// long and varied enough that a chance match in output is impossible.
#[test]
fn generator_draws_the_promised_shapes() {
    let mut rng = Rng(42);
    for _ in 0..200 {
        let p = password(&mut rng);
        assert!(p.len() >= 17 && p.chars().any(|c| SYMBOLS.contains(&(c as u8))));
        assert!(kgate::redact::value_looks_secret(&github_token(&mut rng)));
        assert!(kgate::redact::value_looks_secret(&aws_key_id(&mut rng)));
        assert!(numeric(&mut rng).parse::<u64>().is_ok());
        let (pem, body) = pem(&mut rng);
        assert!(kgate::redact::value_looks_secret(&pem));
        assert!(body.iter().all(|l| l.len() == 64));
    }
    assert!(needles("abcdefgh-ij").contains(&"abcdefgh".to_string()));
}
