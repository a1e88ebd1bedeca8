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

/// Digits only, short: a PIN (seven digits, under `MIN_SCRUBBED_LEN`).
fn short_numeric(rng: &mut Rng) -> String {
    format!("{}{}", 1 + rng.below(9), rng.pick(b"0123456789", 6))
}

/// A number YAML 1.1 reads as octal (`0` and octal digits): written one way, read as another.
/// Returns (as written, as read).
fn octal(rng: &mut Rng) -> (String, String) {
    let digits = format!("{}{}", 1 + rng.below(7), rng.pick(b"01234567", 9));
    let value = u64::from_str_radix(&digits, 8).unwrap();
    (format!("0{digits}"), value.to_string())
}

/// The alphabets a value is drawn from: quotes, backslashes, spaces, unicode, digits only.
/// Each value keeps an 8-character alphanumeric run at both ends, so that a leak shows in any
/// output whatever escaping the format applies to the characters between them.
fn fancy(rng: &mut Rng) -> String {
    const MIDDLES: &[&[&str]] = &[
        &["\"", "'", "\"'"],
        &["\\", "\\\\", "\\n"],
        &[" ", "  ", " x "],
        &["é", "密码", "ü-ß", "🔑"],
        &["0", "42", "007"],
    ];
    let pick = MIDDLES[rng.below(MIDDLES.len())];
    let middle = pick[rng.below(pick.len())];
    format!("{}{middle}{}", alnum(rng, 9), alnum(rng, 9))
}

/// A double-quoted YAML scalar holding `s`.
fn yaml_quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A token of a known format with few or no digits (`ghp_` and letters).
fn letters_token(rng: &mut Rng) -> String {
    format!(
        "ghp_{}",
        rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 36)
    )
}

fn jwt(rng: &mut Rng) -> String {
    format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
        rng.pick(ALNUM, 24),
        rng.pick(ALNUM, 32)
    )
}

fn npm_token(rng: &mut Rng) -> String {
    format!("npm_{}", rng.pick(ALNUM, 36))
}

fn pypi_token(rng: &mut Rng) -> String {
    format!("pypi-AgEIcHlwaS5vcmc{}", rng.pick(ALNUM, 60))
}

/// An AWS secret access key: 40 characters of base64 without padding.
fn aws_secret_key(rng: &mut Rng) -> String {
    let mut s = format!("{}/{}+", alnum(rng, 18), alnum(rng, 18));
    s.push_str(&rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1));
    s.push_str(&rng.pick(b"abcdefghijklmnopqrstuvwxyz", 1));
    s
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
    shapes: Shapes,
}

/// The leak shapes of issue 13 §2, one value each.
struct Shapes {
    short_password: String,
    short_pin: String,
    octal_written: String,
    octal_read: String,
    alias_in_secret: String,
    alias_from_configmap: String,
    signing_key: String,
    access_key: String,
    connection_string: String,
    properties_password: String,
    ini_password: String,
    toml_token: String,
    env_file_secret: String,
    arg_token: String,
    bearer: String,
    jwt: String,
    npm: String,
    pypi: String,
    aws_secret: String,
    last_applied: String,
    broken_flow: String,
    broken_json: String,
    broken_tagged: String,
    broken_commented: String,
    broken_list: String,
    broken_multiline: String,
    broken_multiline_tail: String,
}

impl Shapes {
    fn draw(rng: &mut Rng) -> Shapes {
        let (octal_written, octal_read) = octal(rng);
        Shapes {
            short_password: short_numeric(rng),
            short_pin: short_numeric(rng),
            octal_written,
            octal_read,
            alias_in_secret: fancy(rng),
            alias_from_configmap: fancy(rng),
            signing_key: fancy(rng),
            access_key: fancy(rng),
            connection_string: fancy(rng),
            properties_password: fancy(rng),
            ini_password: fancy(rng),
            toml_token: fancy(rng),
            env_file_secret: password(rng),
            arg_token: letters_token(rng),
            bearer: alnum(rng, 32),
            jwt: jwt(rng),
            npm: npm_token(rng),
            pypi: pypi_token(rng),
            aws_secret: aws_secret_key(rng),
            last_applied: password(rng),
            broken_flow: password(rng),
            broken_json: password(rng),
            broken_tagged: fancy(rng),
            broken_commented: numeric(rng),
            broken_list: password(rng),
            broken_multiline: alnum(rng, 12),
            broken_multiline_tail: alnum(rng, 12),
        }
    }

    fn asserted(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "short numeric ConfigMap SHORT_PASSWORD",
                self.short_password.clone(),
            ),
            ("short numeric Secret pin", self.short_pin.clone()),
            ("octal Secret value as written", self.octal_written.clone()),
            (
                "octal Secret value as YAML 1.1 reads it",
                self.octal_read.clone(),
            ),
            (
                "Secret value through an alias",
                self.alias_in_secret.clone(),
            ),
            (
                "ConfigMap password copied by an alias",
                self.alias_from_configmap.clone(),
            ),
            ("ConfigMap signingKey", self.signing_key.clone()),
            ("ConfigMap accessKey", self.access_key.clone()),
            ("ConfigMap connectionString", self.connection_string.clone()),
            (
                "password= in embedded properties",
                self.properties_password.clone(),
            ),
            ("password = in embedded INI", self.ini_password.clone()),
            ("token = in embedded TOML", self.toml_token.clone()),
            (
                "API_SECRET= in embedded env file",
                self.env_file_secret.clone(),
            ),
            ("--key=ghp_ (letters only) in args", self.arg_token.clone()),
            ("Bearer token in an annotation", self.bearer.clone()),
            ("JWT inside an env value", self.jwt.clone()),
            ("npm token in an .npmrc", self.npm.clone()),
            ("PyPI token in a .pypirc", self.pypi.clone()),
            (
                "AWS secret key in a credentials file",
                self.aws_secret.clone(),
            ),
            (
                "Secret in last-applied-configuration",
                self.last_applied.clone(),
            ),
            ("broken flow-style Secret", self.broken_flow.clone()),
            ("broken JSON Secret", self.broken_json.clone()),
            (
                "broken Secret with a tagged kind",
                self.broken_tagged.clone(),
            ),
            (
                "broken Secret with a commented kind",
                self.broken_commented.clone(),
            ),
            ("broken List holding a Secret", self.broken_list.clone()),
            (
                "broken multi-line quoted password",
                self.broken_multiline.clone(),
            ),
            (
                "broken multi-line quoted password, 2nd line",
                self.broken_multiline_tail.clone(),
            ),
        ]
    }

    /// The files that hold these shapes.
    fn files(&self) -> Vec<(&'static str, String)> {
        let secret = format!(
            r#"apiVersion: v1
kind: Secret
metadata:
  name: shapes
  namespace: prod
  annotations:
    example.com/note: &shared {alias}
stringData:
  pin: {pin}
  octal: {octal_written}
  copied: *shared
unknownTopLevel: x
"#,
            alias = yaml_quoted(&self.alias_in_secret),
            pin = self.short_pin,
            octal_written = self.octal_written,
        );
        let configmap = format!(
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: shapes
  namespace: prod
data:
  SHORT_PASSWORD: "{short}"
  DB_PASSWORD: &dbpw {alias}
  copy: *dbpw
  signingKey: {signing}
  accessKey: {access}
  connectionString: {conn}
  application.properties: |
    db.user=app
    db.password={props}
  config.ini: |
    [database]
    password = {ini}
  app.toml: |
    [api]
    token = {toml}
  app.env: |
    API_SECRET={envfile}
  .npmrc: |
    //registry.npmjs.org/:_authToken={npm}
  .pypirc: |
    [pypi]
    username = __token__
    password = {pypi}
  credentials: |
    [default]
    aws_secret_access_key = {aws}
unknownTopLevel: x
"#,
            short = self.short_password,
            alias = yaml_quoted(&self.alias_from_configmap),
            signing = yaml_quoted(&self.signing_key),
            access = yaml_quoted(&self.access_key),
            conn = yaml_quoted(&self.connection_string),
            props = self.properties_password,
            ini = yaml_quoted(&self.ini_password),
            toml = yaml_quoted(&self.toml_token),
            envfile = self.env_file_secret,
            npm = self.npm,
            pypi = self.pypi,
            aws = self.aws_secret,
        );
        let last_applied = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "old", "namespace": "prod"},
            "stringData": {"password": self.last_applied},
        })
        .to_string();
        let deployment = format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: shapes
  namespace: prod
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: {last_applied}
    example.com/auth: "Authorization: Bearer {bearer}"
spec:
  selector:
    matchLabels: {{app: shapes}}
  template:
    metadata:
      labels: {{app: shapes}}
    spec:
      containers:
        - name: app
          image: nginx:latest
          args: ["--key={arg}", "--verbose"]
          env:
            - name: SESSION
              value: "jwt={jwt}"
              bogus: 1
            - name: SHORT_PASSWORD
              value: {short}
"#,
            last_applied = yaml_quoted(&last_applied),
            bearer = self.bearer,
            arg = self.arg_token,
            jwt = self.jwt,
            short = self.short_password,
        );
        let flow = format!(
            "{{apiVersion: v1, kind: Secret, metadata: {{name: flow}}, stringData: {{password: {v}}}\n",
            v = self.broken_flow
        );
        let json = format!(
            "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {{\"name\": \"json\"}},\n  \"data\": {{\n    \"token\": \"{v}\",\n  }}\n  ]\n}}\n",
            v = self.broken_json
        );
        let tagged = format!(
            "apiVersion: v1\nkind: !!str Secret\nmetadata:\n  name: tagged\nstringData:\n  value: {v}\n  other: [unclosed\n",
            v = yaml_quoted(&self.broken_tagged)
        );
        let commented = format!(
            "apiVersion: v1\nkind: Secret # plain for now\nmetadata:\n  name: commented\nstringData:\n  pin: {v}\n  other: {{unclosed\n",
            v = self.broken_commented
        );
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: listed\n    stringData:\n      token: {v}\n      bad: [x\n",
            v = self.broken_list
        );
        let multiline = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: multi\ndata:\n  DB_PASSWORD: \"{a}\n    {b}\"\n  other: [unclosed\n",
            a = self.broken_multiline,
            b = self.broken_multiline_tail
        );
        vec![
            (
                "apps/shapes/kustomization.yaml",
                "resources: [secret.yaml, configmap.yaml, deployment.yaml]\n".to_string(),
            ),
            ("apps/shapes/secret.yaml", secret),
            ("apps/shapes/configmap.yaml", configmap),
            ("apps/shapes/deployment.yaml", deployment),
            ("apps/broken/flow.yaml", flow),
            ("apps/broken/json.yaml", json),
            ("apps/broken/tagged.yaml", tagged),
            ("apps/broken/commented.yaml", commented),
            ("apps/broken/list.yaml", list),
            ("apps/broken/multiline.yaml", multiline),
        ]
    }
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
            shapes: Shapes::draw(rng),
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
        s.asserted.extend(s.shapes.asserted());
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
    let mut files = vec![
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
    ];
    files.extend(s.shapes.files());
    files
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
        for dir in ["apps/gen", "clusters/prod", "apps/web", "apps/shapes"] {
            let args = ["render", dir];
            assert_no_leak(&args.join(" "), &repo.kgate(&args), &[&head], seed);
        }
        // A single file on standard input: the broken YAML and the schema errors alone.
        for file in [
            "apps/broken/broken.yaml",
            "apps/web/deployment.yaml",
            "apps/broken/flow.yaml",
            "apps/broken/json.yaml",
            "apps/broken/tagged.yaml",
            "apps/broken/commented.yaml",
            "apps/broken/list.yaml",
            "apps/broken/multiline.yaml",
            "apps/shapes/configmap.yaml",
        ] {
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

// ---- False positives: what is not a secret stays readable, and is not a finding.

/// `kgate check . --format json` in a fresh repository holding `files`.
fn check_json(files: &[(&str, &str)]) -> (serde_json::Value, String) {
    let repo = Repo::new();
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.commit("files");
    let out = repo.kgate(&["check", ".", "--format", "json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (serde_json::from_str(&text).unwrap(), text)
}

/// The findings of one code.
fn findings_of<'a>(report: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .collect()
}

const NO_INLINE: &str = "policy/no-inline-secrets";

fn pod_with_env(env: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: prod\nspec:\n  containers:\n    - name: app\n      image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000\n      env:\n",
    );
    for (name, value) in env {
        let _ = writeln!(out, "        - name: {name}\n          value: \"{value}\"");
    }
    out
}

#[test]
fn references_to_secret_managers_are_not_secrets() {
    let pod = pod_with_env(&[
        ("DB_PASSWORD", "op://vault/database/password"),
        ("API_TOKEN", "op://Private/GitHub/token"),
        ("SIGNING_KEY", "vault:secret/data/app#signing_key"),
        ("CLIENT_SECRET", "vault:kv/app#client"),
        ("SMTP_PASSWORD", "ref+vault://secret/smtp#/password"),
        ("S3_SECRET", "ref+awssecrets://prod/s3#/secret"),
        ("REDIS_PASSWORD", "${REDIS_PASSWORD}"),
        ("PG_PASSWORD", "${PG_PASSWORD:=changeme}"),
        ("MQ_PASSWORD", "$(MQ_PASSWORD)"),
        ("WEBHOOK_SECRET", "<path:kv/data/webhook#secret>"),
        ("GH_TOKEN", "<path:secret/data/ci#token | base64encode>"),
        (
            "AWS_SECRET",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        ),
    ]);
    // argocd-vault-plugin: a Secret whose values are all placeholders holds no value.
    let avp = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: avp\n  namespace: prod\n  annotations:\n    avp.kubernetes.io/path: kv/data/app\nstringData:\n  password: <path:kv/data/app#password>\n  token: <token>\n  url: ${URL}\n";
    let (report, _) = check_json(&[("apps/pod.yaml", &pod), ("apps/avp.yaml", avp)]);
    let found = findings_of(&report, NO_INLINE);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn names_of_secrets_booleans_and_paths_are_not_secrets() {
    let pod = pod_with_env(&[
        ("DB_SECRET_NAME", "postgres-credentials"),
        ("TLS_SECRET_NAME", "ingress-tls"),
        ("VAULT_SECRET_NAMESPACE", "platform"),
        ("TOKEN_PATH", "/var/run/secrets/tokens/api-token"),
        ("PASSWORD_FILE", "/etc/app/password"),
        ("SECRET_MOUNT", "/mnt/secrets-store"),
        ("CA_SECRET", "secret/data/pki/ca"),
        ("ENABLE_TOKEN_AUTH", "true"),
        ("TOKEN_TTL", "3600"),
        ("secretKey", "db-password"),
    ]);
    let configmap = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: prod
data:
  DB_SECRET_NAME: postgres-credentials
  admin.passwordMtime: "2024-05-01T10:00:00Z"
  minPasswordLength: "12"
  app.toml: |
    [plaid]
    link_token = false
    access_token_ttl = 3600
    [vault]
    token_path = "/var/run/secrets/vault/token"
  app.properties: |
    auth.token.enabled=true
    spring.datasource.password=${DB_PASSWORD}
  vault-agent.hcl: |
    auto_auth { method "kubernetes" { config = { token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token" } } }
"#;
    let injector = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: injected
  namespace: prod
spec:
  selector:
    matchLabels: {app: injected}
  template:
    metadata:
      labels: {app: injected}
      annotations:
        vault.hashicorp.com/agent-inject-secret-db: database/creds/app
        vault.hashicorp.com/agent-inject-secret-config.txt: "internal/data/database/config"
    spec:
      containers:
        - name: app
          image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000
"#;
    let (report, text) = check_json(&[
        ("apps/pod.yaml", &pod),
        ("apps/configmap.yaml", configmap),
        ("apps/injected.yaml", injector),
    ]);
    let found = findings_of(&report, NO_INLINE);
    assert!(found.is_empty(), "{found:#?}");
    assert!(!text.contains("[REDACTED]"), "{text}");
}

#[test]
fn one_finding_per_secret_listing_its_keys() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ndata:\n  password: aHVudGVyMjI=\nstringData:\n  username: app\n  pin: 1234567\n  url: <path:kv/db#url>\n";
    let two = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: prod\nstringData:\n  token: abc123456789\n";
    let (report, text) = check_json(&[("apps/secret.yaml", secret), ("apps/api.yaml", two)]);
    let found = findings_of(&report, NO_INLINE);
    assert_eq!(found.len(), 2, "{found:#?}");
    let db = found
        .iter()
        .find(|d| d["file"] == "apps/secret.yaml")
        .unwrap();
    let msg = db["message"].as_str().unwrap();
    assert!(
        msg.contains(r#"data key "password""#)
            && msg.contains(r#"stringData keys "pin", "username""#),
        "{msg}"
    );
    // The placeholder key is not plain text; no value is printed.
    assert!(!msg.contains("\"url\"") && !text.contains("1234567") && !text.contains("hunter22"));
}

#[test]
fn redaction_hides_no_innocent_text() {
    // Weak secret values (a folder's name, a URL prefix, a word inside a key) of one Secret
    // must not mask the same text in other files' paths and messages, nor in the Secret's
    // own key names.
    let argocd = r#"apiVersion: v1
kind: Secret
metadata:
  name: repo-creds
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: repo-creds
stringData:
  type: repository
  url: https://github.com/example-org
  password: password
  admin.passwordMtime: "2024-05-01T10:00:00Z"
"#;
    let deploy = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations:
    source: https://github.com/example-org/web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/repository/password-manager:latest
          unknownField: repository
"#;
    let (report, text) = check_json(&[
        ("argocd/repo-creds.yaml", argocd),
        ("repository/web/deployment.yaml", deploy),
    ]);
    let files: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["file"].as_str())
        .collect();
    assert!(files.contains(&"repository/web/deployment.yaml"), "{text}");
    let secret = findings_of(&report, NO_INLINE);
    let msg = secret[0]["message"].as_str().unwrap();
    assert!(msg.contains("admin.passwordMtime"), "{msg}");
    let web: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == "repository/web/deployment.yaml")
        .collect();
    assert!(!web.is_empty());
    for d in web {
        assert!(!d.to_string().contains("[REDACTED]"), "{d}");
    }
    // The image finding quotes the words the Secret's values also are.
    let image = findings_of(&report, "policy/image-tag-commit");
    let msg = image[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("registry.example.com/repository/password-manager:latest"),
        "{msg}"
    );
}

#[test]
fn rendering_never_reads_inside_git() {
    let repo = Repo::new();
    repo.write(
        "apps/web/kustomization.yaml",
        "configMapGenerator:\n  - name: leak\n    files:\n      - ../../.git/config\n    envs:\n      - ../../.git/ci.env\n",
    );
    repo.commit("generator");
    let token = "ghs_ABCDEFghijkl0123456789mnopqrSTUVWX";
    let config = std::fs::read_to_string(repo.path().join(".git/config")).unwrap();
    std::fs::write(
        repo.path().join(".git/config"),
        format!("{config}[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic {token}\n"),
    )
    .unwrap();
    std::fs::write(
        repo.path().join(".git/ci.env"),
        format!("CI_TOKEN={token}\n"),
    )
    .unwrap();
    // A link to the folder is refused the same way.
    #[cfg(unix)]
    std::os::unix::fs::symlink(".git", repo.path().join("apps/gitlink")).unwrap();
    repo.write(
        "apps/other/kustomization.yaml",
        "configMapGenerator:\n  - name: leak\n    files:\n      - ../gitlink/config\n",
    );
    for args in [
        &["render", "apps/web"][..],
        &["render", "apps/other"][..],
        &["check", ".", "--format", "json"][..],
        &["check", ".", "--format", "human"][..],
    ] {
        let out = repo.kgate(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains(token) && !text.contains("ABCDEFghijkl"),
            "{args:?}: {text}"
        );
        assert!(
            !text.contains("repositoryformatversion"),
            "{args:?}: {text}"
        );
        if args[0] == "check" {
            assert!(text.contains(".git"), "{args:?} says why: {text}");
        }
    }
}
