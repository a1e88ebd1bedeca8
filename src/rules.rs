//! The registry of finding codes: severity, one-line summary and documentation for each, as
//! listed by `kgate rules` and printed by `kgate explain CODE`.

use crate::diagnostic::Severity;

pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// What it checks, why it matters, how to fix it.
    pub docs: &'static str,
}

/// Codes that mean the gate itself could not do its job (exit status 2): a policy or template
/// that does not compile or fails to evaluate, data policies cannot read.
pub const TOOL_FAILURES: &[&str] = &[
    "policy/parse-error",
    "policy/eval-error",
    "policy/bad-data",
    "gatekeeper/invalid-template",
    "gatekeeper/eval-error",
];

/// Whether a finding code means the run itself failed (exit status 2).
pub fn is_tool_failure(code: &str) -> bool {
    TOOL_FAILURES.contains(&code)
}

pub const RULES: &[Rule] = &[
    Rule {
        code: "file/unreadable",
        severity: Severity::Error,
        summary: "a file or folder could not be read",
        docs: "kgate could not read a file it was asked to check: a permission problem, a broken \
symbolic link, a symbolic link loop, or a special file (FIFO, socket, device) that is not a regular \
file. Such files are never read, so a link to /dev/zero cannot hang a run.\n\nFix: make the file \
readable, or exclude it with --exclude.",
    },
    Rule {
        code: "file/not-text",
        severity: Severity::Error,
        summary: "a file is binary or not valid UTF-8/UTF-16",
        docs: "Kubernetes reads YAML as UTF-8 (or UTF-16 with a byte order mark). A NUL byte or an \
invalid UTF-8 sequence makes the file unreadable for the GitOps agent too. The finding points at the \
first bad byte.\n\nFix: save the file as UTF-8, or exclude it if it is not a manifest.",
    },
    Rule {
        code: "file/too-large",
        severity: Severity::Error,
        summary: "a file is larger than --max-file-size",
        docs: "Files over the size limit (32 MiB by default) are not read, so that one generated \
or hostile file cannot exhaust memory. The limit is a finding, never a silent pass.\n\nFix: split the \
file, or raise --max-file-size (`max_file_size` in .kgate.yaml).",
    },
    Rule {
        code: "limit/memory-target",
        severity: Severity::Error,
        summary: "a file was not read because the run reached --memory-target",
        docs: "kgate estimates a run's peak memory as 64 times the bytes of YAML it loads (the text, \
its span-keeping tree, the JSON value and the policy input). Files are admitted in path order \
while that estimate stays under the memory target (8 GiB by default, so 128 MiB of YAML); the \
first file that does not fit and every later one are refused with this finding, so the outcome \
does not depend on thread scheduling. It is an estimate, not a hard cap: one file's rendering or \
policies can use more.\n\nFix: raise --memory-target (`memory_target` in .kgate.yaml), or split \
the run with --shard.",
    },
    Rule {
        code: "file/outside-root",
        severity: Severity::Warning,
        summary: "a symbolic link points outside the checked folder",
        docs: "A link that leaves the folder being checked is not followed: a merge request must not \
make kgate read (and print) files from elsewhere on the machine.\n\nFix: copy the file into the \
repository, or check its real location explicitly.",
    },
    Rule {
        code: "yaml/syntax",
        severity: Severity::Error,
        summary: "YAML syntax error",
        docs: "The document cannot be parsed. The other documents of the file (after the next `---`) \
and the other files are still checked.\n\nFix: correct the YAML at the position shown (indentation, \
an unclosed bracket or quote, a tab).",
    },
    Rule {
        code: "yaml/duplicate-key",
        severity: Severity::Error,
        summary: "a mapping has the same key twice",
        docs: "A key written twice in one mapping is ambiguous: `kubectl apply` rejects the file, \
other tools silently keep the last value. The finding names both lines. A key that overrides one \
merged in with `<<: *anchor` is not a duplicate.\n\nFix: keep one of the two.",
    },
    Rule {
        code: "yaml/limit",
        severity: Severity::Error,
        summary: "a document exceeds a safety limit (aliases, nesting, size)",
        docs: "Aliases that expand past the node budget (an \"alias bomb\"; --max-nodes, default \
1,000,000 nodes per document), nesting deeper than the depth limit (--max-depth, default 200), or \
too many documents in one file (--max-documents, default 100,000: the rest of the file is not \
read). The message names the limit. The document is not checked; the rest of the run is.\n\nFix: \
simplify the document, or raise the limit (`max_nodes`, `max_depth`, `max_documents` in \
.kgate.yaml).",
    },
    Rule {
        code: "schema/type-meta",
        severity: Severity::Error,
        summary: "apiVersion or kind is not a string, or a List item has none",
        docs: "Every object needs string `apiVersion` and `kind` fields; every item of a `kind: List` \
must be an object with both.",
    },
    Rule {
        code: "schema/missing-name",
        severity: Severity::Error,
        summary: "an object has neither metadata.name nor metadata.generateName",
        docs: "The API server refuses an object without a name, and `kubectl apply` cannot use \
generateName. \n\nFix: set `metadata.name`.",
    },
    Rule {
        code: "schema/unknown-field",
        severity: Severity::Error,
        summary: "a field that the kind's schema does not define",
        docs: "Strict validation, as `kubectl apply` does by default (server-side field validation \
`Strict`): a misspelt field (`imagePullPolicyy`) or a field at the wrong level would otherwise be \
silently dropped. Fields under `x-kubernetes-preserve-unknown-fields` are free-form.\n\nFix: correct \
the field name or indentation (the message suggests the closest valid name), or use --no-strict.",
    },
    Rule {
        code: "schema/required-field",
        severity: Severity::Error,
        summary: "a required field is missing",
        docs: "The schema requires this field (for example `containers[].name`, a Deployment's \
`spec.selector`). The finding points at the object that lacks it.",
    },
    Rule {
        code: "schema/wrong-type",
        severity: Severity::Error,
        summary: "a field has the wrong type",
        docs: "The value's type does not match the schema: a number where a string is expected, a \
list where a map is expected. Remember that YAML reads unquoted `yes`, `no`, `on`, `off`, `true`, \
`false` as booleans and `0755` as the number 493, exactly as Kubernetes does.\n\nFix: quote strings \
(`value: \"on\"`).",
    },
    Rule {
        code: "schema/enum",
        severity: Severity::Error,
        summary: "a field's value is not one of the allowed values",
        docs: "The field accepts a fixed set of values (for example `imagePullPolicy: Always | \
IfNotPresent | Never` in CRDs that declare it).",
    },
    Rule {
        code: "schema/invalid-value",
        severity: Severity::Error,
        summary: "a field's value breaks a schema constraint (pattern, range, length, quantity)",
        docs: "A value has the right type but is not acceptable: a quantity such as `1GB` (use \
`1G` or `1Gi`), a number out of range, a string that does not match the required pattern.",
    },
    Rule {
        code: "schema/removed-api",
        severity: Severity::Error,
        summary: "the apiVersion is no longer served by the target Kubernetes version or CRD",
        docs: "Kubernetes removed this API version (for example Ingress `extensions/v1beta1`, \
removed in 1.22), or the built-in CRD catalog's CRD for the kind no longer serves it (marked \
`served: false`, or dropped: Flux HelmRelease `helm.toolkit.fluxcd.io/v2beta1`). The agent's \
apply fails on the cluster.\n\nFix: move to the replacement named in the message (the version the \
CRD stores) and check the fields that changed between the versions. If your cluster runs an \
older release of that project, commit its CRDs or pass them with --crd: they take precedence \
over the catalog (`kgate catalog` shows which source wins).",
    },
    Rule {
        code: "schema/missing",
        severity: Severity::Warning,
        summary: "no schema is known for this apiVersion/kind",
        docs: "The object was not validated: its kind is not built into Kubernetes, not in the \
built-in CRD catalog (Flux, Argo CD, cert-manager, Gateway API, ...: `kgate catalog` lists it), \
and no CustomResourceDefinition for it was found in the checked paths, --crd or \
--schema-location.\n\n\
Fix: add the CRD (Flux keeps them in flux-system/gotk-components.yaml), pass --crd / \
--schema-location, or silence with --skip-kind KIND. --require-schemas, or `--unverified error` \
(`unverified: error` in .kgate.yaml, what CI should use), makes this an error; the summary counts \
every object that was not verified.",
    },
    Rule {
        code: "schema/unusable",
        severity: Severity::Error,
        summary: "a schema or CRD was found but cannot be used",
        docs: "The CustomResourceDefinition or schema file for this kind is malformed, so the \
object could not be validated. The finding names the source of the schema.",
    },
    Rule {
        code: "schema/bad-crd",
        severity: Severity::Warning,
        summary: "a CustomResourceDefinition could not be read as a schema source",
        docs: "A CRD in the checked paths or --crd lacks the fields kgate needs (spec.group, \
spec.names.kind, versions). Objects of its kinds get schema/missing.",
    },
    Rule {
        code: "admission/name",
        severity: Severity::Error,
        summary: "a name, namespace, label or annotation the API server refuses",
        docs: "The API server checks object metadata in code (ValidateObjectMeta), not in the \
OpenAPI schema. kgate checks it for built-in kinds and kinds with a known CRD:\n\
- `metadata.name` / `generateName` in the format the resource's validation uses: a DNS-1123 \
subdomain for most kinds and all custom resources (NameIsDNSSubdomain), a DNS-1123 label for \
Namespaces (ValidateNamespaceName), a DNS-1035 label for Services (ValidateServiceName), a path \
segment for RBAC objects (ValidateRBACName) and for PersistentVolumes and PersistentVolumeClaims \
(ValidatePersistentVolumeName); a CronJob name is at most 52 characters \
(pkg/apis/batch/validation); a CRD is named `<plural>.<group>` (apiextensions validation). Kinds \
with names of their own shape (ClusterTrustBundle `<signer>:<name>`, IPAddress) are only checked \
as path segments.\n\
- `metadata.namespace` is a DNS-1123 label.\n\
- label keys (qualified names: optional DNS subdomain prefix, `/`, a name of at most 63 \
alphanumerics, `-`, `_`, `.`) and values (at most 63 characters, same charset, or empty) on the \
object, its pod templates, claim templates and label selectors (ValidateLabels, \
ValidateLabelSelector). A CronJob's `jobTemplate.metadata` is not validated with the CronJob but \
when each Job is created: still an error, and the message says so.\n\
- annotation keys (qualified names, checked lower-cased) and the total size of annotations \
(256 KiB, TotalAnnotationSizeLimitB).\n\
Values with a Flux `${VAR}`, a kustomize `$(VAR)` or a `{{ … }}` placeholder are not judged \
before substitution.\n\n\
Sources: k8s.io/apimachinery pkg/api/validation/objectmeta.go, pkg/util/validation/validation.go; \
k8s.io/kubernetes pkg/apis/core/validation/validation.go.",
    },
    Rule {
        code: "admission/duplicate-key",
        severity: Severity::Error,
        summary: "two items of a keyed list have the same key",
        docs: "Lists whose items are identified by a key must not repeat it:\n\
- custom resources: `x-kubernetes-list-type: map` lists (by their `x-kubernetes-list-map-keys`) \
and `set` lists (by value), enforced by the API server for every CRD \
(apiextensions-apiserver pkg/apiserver/schema/listtype).\n\
- pods and pod templates: container names within a list, volume names, mount paths, port names \
within a container (pkg/apis/core/validation: validateContainers, ValidateVolumes, \
validateVolumeMounts, validateContainerPorts).\n\
- Services: port names and port+protocol pairs (ValidateService).\n\
Warnings, because the API server accepts them with a warning (pkg/api/pod/warnings.go): \
duplicate env names (the last one wins) and duplicate containerPort+protocol in one container.\n\n\
Fix: rename or merge the duplicate; the message names the first occurrence.",
    },
    Rule {
        code: "admission/invalid",
        severity: Severity::Error,
        summary: "a value the API server's validation code refuses",
        docs: "Rules the API server enforces in code, each with its source in k8s.io/kubernetes:\n\
- a Deployment, ReplicaSet, StatefulSet or DaemonSet `spec.selector` is not empty and matches \
`spec.template.metadata.labels` (pkg/apis/apps/validation: ValidateDeploymentSpec, \
ValidateReplicaSetSpec, ValidateStatefulSetSpec, ValidateDaemonSetSpec); the same for a Job with \
`manualSelector: true` (pkg/apis/batch/validation: ValidateJobSpec) and a \
ReplicationController (ValidateReplicationControllerSpec).\n\
- a Job without `manualSelector: true` has its selector generated: a selector naming labels of \
its own is refused (ValidateGeneratedSelector, \"`selector` not auto-generated\"); a CronJob's \
jobTemplate sets neither `selector` nor `manualSelector: true` (ValidateJobTemplateSpec).\n\
- label selector expressions: `values` present for In/NotIn, absent for Exists/DoesNotExist \
(ValidateLabelSelectorRequirement).\n\
- `volumeMounts` and `volumeDevices` name a declared volume (a StatefulSet's \
volumeClaimTemplates count) (pkg/apis/core/validation: validateVolumeMounts).\n\
- container names are unique across init, sidecar and app containers (validateInitContainers).\n\
- container port names and named probe/target ports are IANA service names: at most 15 \
lowercase letters, digits and `-`, with a letter (validateContainerPorts, IsValidPortName).\n\
- a Service with several ports names each, with DNS-1123 labels (ValidateService).\n\
- a probe (liveness, readiness, startup) and a lifecycle hook have exactly one handler \
(validateHandler).\n\
- resource requests are at most the limits (hugepages: equal) (ValidateResourceRequirements).\n\
- a CronJob `schedule` parses as robfig/cron's standard format: five fields, month and weekday \
names, `*`, `?`, ranges, steps, lists, `@hourly`-style macros and `@every <duration>` \
(pkg/apis/batch/validation: validateScheduleFormat). A `TZ=`/`CRON_TZ=` prefix is a warning: \
refused for new CronJobs since 1.27, kept on existing ones.\n\
- Ingress (networking.k8s.io/v1) paths: Exact and Prefix paths are absolute and contain no \
`//`, `/./`, `/../`, `%2f`, nor end in `/..` or `/.`; ImplementationSpecific paths are absolute \
when set; hosts are DNS names, not IP addresses (pkg/apis/networking/validation: \
validateHTTPIngressPath, validateIngressRules).\n\
The pod rules apply to Pods and to every workload's pod template. A StatefulSet's pod template \
spec is not validated with the StatefulSet (ValidatePodTemplateSpecForStatefulSet) but when its \
Pods are created: still an error (no Pod ever starts), and the message says so.",
    },
    Rule {
        code: "admission/cel",
        severity: Severity::Error,
        summary: "a CRD's CEL validation rule (x-kubernetes-validations) rejects the object",
        docs: "The `x-kubernetes-validations` rules of a CustomResourceDefinition's schema (from \
the checked paths, --crd, or kgate's catalog) are evaluated on each object at the level where \
they are declared, with `self` bound to that value, as the API server does. The finding uses \
the rule's `messageExpression` (when it evaluates to a string), else its `message`, else the \
rule; it points at the rule's `fieldPath` when set; the rule and its `reason` are in the JSON \
report's `details`.\n\n\
Transition rules (those that read `oldSelf`) are evaluated only in merge-request mode \
(`check --base`), with the base revision's object of the same identity as the old one (items \
of `x-kubernetes-list-type: map` lists are paired by their keys), as the API server evaluates \
them on update; on a new object they do not run.\n\n\
Rules see the object with the schema's `default`s filled in, as the API server validates it \
(structural defaulting runs before validation).\n\n\
Libraries: CEL's standard library and strings extension, and the Kubernetes libraries: \
quantity, URL, IP and CIDR, regex `find`/`findAll`, lists `isSorted`/`sum`, sets. A rule kgate \
cannot compile or evaluate (a function it lacks) is a note, never an error.",
    },
    Rule {
        code: "admission/immutable",
        severity: Severity::Error,
        summary: "the merge request changes a field the API server does not let an update change",
        docs: "In merge-request mode (`check --base`) and in `kgate diff`, each object is compared \
with the base revision's object of the same identity in the same unit (kustomization, Flux \
Kustomization or file; across units only when the identity is unique on both sides). Refused on \
update (the agent's apply then fails in production), reported at the first changed field (in \
the file it comes from, a kustomization's labels for instance):\n\
- a Deployment, ReplicaSet or DaemonSet `spec.selector`;\n\
- a StatefulSet spec field other than replicas, ordinals, template, updateStrategy, \
persistentVolumeClaimRetentionPolicy and minReadySeconds (revisionHistoryLimit is not judged);\n\
- a Job's `spec.selector`, `spec.completionMode`, and `spec.template` (unless suspended);\n\
- a Service's explicit `clusterIP` (headless ↔ not), primary `clusterIPs[0]` and \
`ipFamilies[0]`, and an explicit clusterIP kept when turning it into an ExternalName;\n\
- a PersistentVolumeClaim's spec, except storage requests (which may only grow) and \
volumeAttributesClassName; `volumeName` and `storageClassName` written out where the base left \
them to the cluster are not judged (they may be what the cluster filled in), nor is \
`dataSourceRef` mirroring `dataSource`;\n\
- the data of a ConfigMap or Secret marked `immutable: true`, and un-marking it; a Secret's \
`type`;\n\
- a CRD's `self == oldSelf` transition rules.\n\
The help says what the agent does: Flux's apply fails unless the object carries \
`kustomize.toolkit.fluxcd.io/force: enabled` (or the Kustomization `spec.force: true`), which \
deletes and recreates it; Argo CD's sync fails unless the sync options are \
`Force=true,Replace=true`. With such an annotation the finding is a warning (the object is \
recreated), and so is a Job with `ttlSecondsAfterFinished` (it deletes itself and is created \
anew; the update is refused only while it still exists). Nothing is said of objects the agent \
never updates: `generateName`, Flux `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent` or \
`reconcile: disabled`, Argo CD and Helm hooks (created anew). An object moved to another \
namespace is a warning: it is a delete plus a create, not a move.\n\n\
Sources: k8s.io/kubernetes pkg/apis/apps/validation, pkg/apis/batch/validation, \
pkg/apis/core/validation (ValidateServiceUpdate, ValidatePersistentVolumeClaimUpdate, \
ValidateConfigMapUpdate, ValidateSecretUpdate).",
    },
    Rule {
        code: "vap/<policy name>",
        severity: Severity::Error,
        summary: "a ValidatingAdmissionPolicy rejects (Deny) or warns about (Warn) an object",
        docs: "ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects \
(admissionregistration.k8s.io) among the checked objects or in the `--policy` folders are \
evaluated offline on every object they match, as the API server's admission plugin does: the \
policy's `matchConstraints` and the binding's `matchResources` (resource rules by group, \
version, resource and operation, exclusions, resource names, scope, `objectSelector`, and \
`namespaceSelector` against the checked Namespace objects, which carry \
`kubernetes.io/metadata.name`; an object whose Namespace is not among them is not judged), \
`paramKind` with the binding's \
`paramRef` (by name or selector) resolved among the checked objects, `matchConditions`, \
`variables`, then each validation's `expression`; a failed one reports `messageExpression` (when \
it evaluates), else `message`, else the expression, with its `reason` in the JSON details. \
`validationActions`: Deny is an error, Warn a warning, Audit a note; `auditAnnotations` are \
ignored. An object is a CREATE (no `oldObject`); in merge-request mode an object the base has \
is an UPDATE with the base object as `oldObject`, and the policies, bindings and params are \
taken from the base revision (like Rego policies) unless `--policies-from head`. An expression \
kgate cannot evaluate (the `authorizer`, `request.userInfo` — the requester is the GitOps \
agent, unknown offline —, a missing library function) or params that are not in the checked \
paths are a note. `vap/<policy name>` codes may be named in `severity:` and `exceptions:`.\n\nFix: change the object, or the policy or its binding.",
    },
    Rule {
        code: "policy/parse-error",
        severity: Severity::Error,
        summary: "a Rego policy or policy test file cannot be parsed (exit 2)",
        docs: "A .rego file given with --policy (or `policies:` in .kgate.yaml) is neither valid Rego v1 \
nor valid v0 syntax, or it defines a function that calls itself, directly or through other \
functions (OPA's `rego_recursion_error: rule data.x.f is recursive: data.x.f -> data.x.f`; \
evaluating it would never end). The finding points at the file, line and column of the syntax \
error or of the recursive function, whose module is then left out. The run exits with 2: a \
policy that silently did not run would be a silent pass.\n\nFix: correct the policy; `kgate \
verify` runs its tests.",
    },
    Rule {
        code: "policy/eval-error",
        severity: Severity::Error,
        summary: "a Rego policy failed while evaluating an object (exit 2)",
        docs: "A rule raised an error (a builtin called with a wrong type, a conflict between rule \
values) on an object, or asked a builtin for a result larger than a quarter of --memory-target \
(`numbers.range(0, 100000000000)`, `net.cidr_expand(\"::/0\")`, a huge `sprintf` width, \
`replace` with an empty pattern on a long string, `bits.lsh` by billions of bits), which is \
refused before anything is allocated. The finding points at the policy's line and names the \
object being checked.\n\n\
Fix: make the rule robust to the object's shape (`is_string(x)`, `object.get`), or bound what it \
asks a builtin to build.",
    },
    Rule {
        code: "policy/bad-data",
        severity: Severity::Error,
        summary: "a --data file cannot be read or merged into `data` (exit 2)",
        docs: "Data files (JSON or YAML, each document a mapping) are merged at the top of `data`, as \
conftest does. Two files that set the same key to different values conflict.",
    },
    Rule {
        code: "policy/timeout",
        severity: Severity::Error,
        summary: "a Rego policy ran longer than --policy-timeout on one object",
        docs: "Each object's policy evaluation (all packages together, and each Gatekeeper \
template) has a wall-clock budget (5 s by default), enforced by the Rego engine's cooperative \
timer. A policy that computes without end (a comprehension over huge ranges, a rule that \
explodes combinatorially) is stopped, the object gets this error naming the rule, and the rest of \
the run goes on; the rules after the slow one are not evaluated on that object. A timed-out \
object costs at most twice the limit. One builtin call is not interrupted; builtins whose \
result can dwarf their arguments are bounded by size instead (see policy/eval-error).\n\nFix: make the policy \
cheaper, or raise --policy-timeout (`policy_timeout` in .kgate.yaml).",
    },
    Rule {
        code: "policy/empty-namespace",
        severity: Severity::Warning,
        summary: "a policy package to enforce has no deny/violation/warn rules",
        docs: "Policies were given but the package named by --namespace (default `main`) defines no \
rule named deny*, violation* or warn*: nothing is enforced.\n\nFix: check the `package` line of \
the policies, or pass --namespace / --all-namespaces.",
    },
    Rule {
        code: "policy/<package>.<rule>",
        severity: Severity::Error,
        summary: "a finding of the team's own Rego policies (deny*/violation* error, warn* warning)",
        docs: "Rules follow conftest: `deny*` and `violation*` are errors, `warn*` warnings; a result \
is a string or an object with `msg`, an optional `path` (array of keys and indexes, or a JSON \
pointer) that kgate resolves to the YAML line, and extra fields kept in the JSON report's \
`details`. conftest `exception` rules suppress findings.",
    },
    Rule {
        code: "gatekeeper/<constraint kind>/<constraint name>",
        severity: Severity::Error,
        summary: "a Gatekeeper constraint's template reports a violation on an object",
        docs: "ConstraintTemplates (templates.gatekeeper.sh) and their constraints \
(constraints.gatekeeper.sh) among the checked objects are evaluated as Gatekeeper's admission \
webhook would: each object a constraint's `spec.match` selects (kinds, namespaces, \
excludedNamespaces, labelSelector, namespaceSelector against the checked Namespace objects, scope, \
name) is passed as `input.review` with `input.parameters`, and `data.inventory` holds every checked \
object. Each `violation` result is a finding at the object, or at `details.path` when it resolves. \
`enforcementAction: deny` is an error, `warn` a warning, `dryrun` a note. Templates and \
constraints may also sit in `--policy` folders next to Rego. The Rego runs on regorus, with OPA's \
deprecated `any`, `all`, `re_match`, `set_diff` and `cast_*` added; Gatekeeper's `external_data` \
cannot run offline and such a template is reported as invalid.\n\nFix: change the object, or the \
constraint's match/parameters.",
    },
    Rule {
        code: "gatekeeper/invalid-template",
        severity: Severity::Error,
        summary: "a ConstraintTemplate cannot be compiled (kgate exits 2)",
        docs: "The template has no `admission.k8s.gatekeeper.sh` target, no kind, a parameters \
schema that is not valid, or Rego (or a lib) that does not compile. Rego is v0 unless the target's \
`code[].source.version` is `v1` or the Rego imports `rego.v1`. The Rego position is mapped into the \
YAML block. A broken template means the gate cannot judge, so the run fails with exit status 2.",
    },
    Rule {
        code: "gatekeeper/eval-error",
        severity: Severity::Error,
        summary: "a ConstraintTemplate failed while evaluating an object (kgate exits 2)",
        docs: "Evaluation of the template's `violation` rule raised an error (for example a \
builtin kgate's Rego engine does not provide). The finding names the object being checked.",
    },
    Rule {
        code: "gatekeeper/invalid-parameters",
        severity: Severity::Error,
        summary: "a constraint's parameters do not match its template's schema",
        docs: "`spec.parameters` is validated against the template's \
`spec.crd.spec.validation.openAPIV3Schema`, as the API server validates the constraint CRD. Such a \
constraint is rejected by the cluster, so it is not evaluated.\n\nFix: correct the parameter at the \
position shown.",
    },
    Rule {
        code: "gatekeeper/unknown-constraint",
        severity: Severity::Warning,
        summary: "a Gatekeeper constraint whose kind no checked ConstraintTemplate defines",
        docs: "The constraint cannot be evaluated offline because its template is not among the \
checked objects.\n\nFix: check the template along with the constraint.",
    },
    Rule {
        code: "gatekeeper/bad-suite",
        severity: Severity::Error,
        summary: "a gator test Suite names a file that cannot be used (kgate verify exits 2)",
        docs: "A `test.gatekeeper.sh` Suite run by `kgate verify` refers (relative to the suite \
file) to a template, constraint, object or inventory file that is missing or is not valid YAML.",
    },
    Rule {
        code: "exception/missing-reason",
        severity: Severity::Error,
        summary: "an exception has no reason, so it does not apply",
        docs: "Every exception needs a reason: `kgate.dev/ignore: \"policy/resources=sized by VPA\"` \
on the object, or `reason:` in the config file's `exceptions:` list.",
    },
    Rule {
        code: "exception/expired",
        severity: Severity::Warning,
        summary: "a config exception is past its `expires` date and no longer applies",
        docs: "The finding it covered is reported again. Fix the finding, or extend the date.",
    },
    Rule {
        code: "exception/invalid",
        severity: Severity::Error,
        summary: "the kgate.dev/ignore annotation is not a string",
        docs: "Write it as `\"code=reason, code2=reason\"`.",
    },
    Rule {
        code: "gate/policy-changed",
        severity: Severity::Warning,
        summary: "the merge request changes the gate's own policies, exceptions or config",
        docs: "In merge-request mode (`kgate check --base REV`) policies, exceptions and `.kgate.yaml` are taken from the base revision, so a merge request cannot switch off the gate that judges it. When the MR changes those files (`.kgate.yaml`, `.kgate.yml`, files under `policy/`, `policies/`, `.kgate/`), this warning lists them so a reviewer looks at them.\n\nTo evaluate the MR with its own policies, pass `--policies-from head`.",
    },
    Rule {
        code: "gate/exception-added",
        severity: Severity::Error,
        summary: "the merge request adds or widens a kgate.dev/ignore exception",
        docs: "In merge-request mode (`kgate check --base REV`) the `kgate.dev/ignore` entries of \
the rendered objects are compared with the base's, per unit (kustomization root, Flux \
Kustomization, or file) and object. An entry the base lacks — a new code, a wider glob \
(`policy/*` where the base had `policy/resources`), the same exception on a new object or in a new \
cluster folder — is added by the MR, however it got there: written on the object, a kustomize \
patch or overlay, `commonAnnotations`, Flux `commonMetadata`, a component, or generator options.\n\n\
With `--policies-from base` (the default) such an entry never applies: the findings it would hide \
are reported as usual, and this error names the code and reason so a reviewer decides (merging \
accepts it for the next MR). With `--policies-from head` it applies and this is a warning.",
    },
    Rule {
        code: "exception/unknown-code",
        severity: Severity::Error,
        summary: "a severity or exception entry names a code kgate never reports",
        docs: "A `severity:` or `exceptions:` entry of `.kgate.yaml` whose code (or code glob) \
matches no code of the run — the registry (`kgate rules`), the built-in pack, the team's loaded \
rules (`policy/<package>.<rule>`) and Gatekeeper constraints (`gatekeeper/<kind>/<name>`) — does \
nothing, so a typo would silently keep a finding on or an exception off. The message gives the \
nearest code.\n\nFix: correct the code, or remove the entry. (A malformed glob in an entry is a \
config error, exit 2.)",
    },
    Rule {
        code: "render/unsupported",
        severity: Severity::Warning,
        summary: "a kustomize feature kgate does not render (remote base, Helm, plugins, ...)",
        docs: "kgate renders kustomizations natively and never runs programs or uses the network. \
Remote bases (`github.com/...`, `https://...`), `helmCharts`, `generators`/`transformers`/`validators` \
plugins, `openapi`, `replacements`, `vars`, `configurations`, `crds` and `sortOptions` are reported \
here, at the line that asks for them, so the rendered output is never silently incomplete.\n\nFix: \
vendor the remote base into the repository, or accept that those objects are not checked. \
`--unverified error` (`unverified: error` in .kgate.yaml) makes this an error; the summary counts \
it under \"not verified\".",
    },
    Rule {
        code: "render/incomplete",
        severity: Severity::Note,
        summary: "a patch matches nothing, but the build left out a remote resource",
        docs: "A strategic merge patch without `target` names an object that is not among the \
rendered resources, and the same build has a remote resource, component or patch that kgate did \
not fetch (`render/unsupported`). The object probably comes from there, so this is a note and not \
the `render/invalid` error kustomize would give for a patch that matches nothing.\n\nFix: vendor \
the remote base into the repository to have it checked.",
    },
    Rule {
        code: "render/helm",
        severity: Severity::Error,
        summary: "a Helm chart failed to render (`required`, `fail`, a template error) or its values are invalid",
        docs: "kgate renders Helm charts natively, as `helm template` does (Go templates with Sprig's and Helm's \
functions), for chart folders given to `kgate render` and for Flux `HelmRelease`s whose chart it finds \
offline (a chart folder or `.tgz` in the repository, or the `--chart-cache` folder). When rendering fails \
the way Helm would fail (`required` values missing, `fail` called, a nil pointer such as \
`.Values.missing.key`, a template syntax error, a `valuesFrom` ConfigMap/Secret that is not in the \
repository), the finding points at the template line and column Helm names.\n\nFix: set the values \
the chart requires in the HelmRelease's `spec.values` (or the values file), or fix the template.",
    },
    Rule {
        code: "render/outside-root",
        severity: Severity::Error,
        summary: "a kustomization refers to a path outside the repository",
        docs: "A `resources`, patch or generator path that leaves the repository root (`../../..`, \
an absolute path, or a symbolic link pointing elsewhere) is never read: a merge request must not make \
kgate read files from the machine it runs on. kustomize's default load restrictor refuses it too.",
    },
    Rule {
        code: "render/cycle",
        severity: Severity::Error,
        summary: "a kustomization includes itself",
        docs: "The chain of `resources`/`components` comes back to a kustomization already being \
built. kustomize fails on it; kgate stops that branch and reports the chain.",
    },
    Rule {
        code: "render/limit",
        severity: Severity::Error,
        summary: "a render grew past a limit (nesting, objects, object size)",
        docs: "Rendering is bounded so that a hostile repository cannot make a run endless or \
exhaust the runner's memory:\n\n- at most 32 nested kustomizations;\n- at most \
`--max-rendered-objects` objects per kustomization or Flux Kustomization (`max_rendered_objects` in \
`.kgate.yaml`, default 50000; each inclusion of a kustomization counts as a build, so a diamond \
of overlays stops too);\n- at most `--max-rendered-nodes` nodes in one rendered object \
(`max_rendered_nodes`, default 1000000), which JSON 6902 `copy` operations or replacements could \
otherwise double again and again.\n\nThe finding is at the line where the limit was hit; the \
objects rendered so far are still checked.",
    },
    Rule {
        code: "render/missing",
        severity: Severity::Error,
        summary: "a file or folder a kustomization names does not exist",
        docs: "kustomize fails the build when a resource, component, patch or generator file is \
missing, or a folder named as a resource has no kustomization.yaml.",
    },
    Rule {
        code: "render/invalid",
        severity: Severity::Error,
        summary: "a kustomization is malformed or a patch matches nothing",
        docs: "A field has the wrong shape, a generator is malformed, a `merge`/`replace` generator \
finds no object, or a strategic merge patch without `target` matches no resource: kustomize fails \
the build.",
    },
    Rule {
        code: "render/conflict",
        severity: Severity::Error,
        summary: "two resources of one kustomization have the same identity",
        docs: "kustomize refuses a second object with the same group, kind, namespace and name \
(use a patch, or a generator with `behavior: merge`).",
    },
    Rule {
        code: "render/patch-failed",
        severity: Severity::Error,
        summary: "a JSON 6902 patch operation cannot be applied",
        docs: "The path of a `remove`/`replace`/`move` does not exist, an index is out of range, or \
a `test` operation failed. kustomize fails the build.",
    },
    Rule {
        code: "render/unresolved-variable",
        severity: Severity::Error,
        summary: "a Flux `${VAR}` has no value",
        docs: "The variable is neither in `postBuild.substitute` nor in a `substituteFrom` ConfigMap \
or Secret found in the checked manifests, and has no `${VAR:=default}`. Flux substitutes an empty \
string (or fails with strict substitution).\n\nFix: define it, give it a default, or escape it as \
`$${VAR}`; `kustomize.toolkit.fluxcd.io/substitute: disabled` turns substitution off per object.",
    },
    Rule {
        code: "render/missing-source",
        severity: Severity::Error,
        summary: "a Flux substituteFrom ConfigMap/Secret is not in the repository",
        docs: "Flux waits (fails) until a non-optional substituteFrom source exists. kgate looks for \
it among the checked manifests; mark it `optional: true` if it is created elsewhere.",
    },
    Rule {
        code: "unit/unused-component",
        severity: Severity::Note,
        summary: "a kustomize Component is included by nothing in the checked paths",
        docs: "A kustomize `kind: Component` is only meaningful inside the kustomizations (or Flux \
Kustomizations' `spec.components`) that include it: rendered alone its patches match no resource and \
its `${VAR}` placeholders are unresolved. kgate checks components only through their users; a \
component that no kustomization of the checked paths includes is not rendered or checked, and this \
note says so once.\n\nFix: nothing if the component is used from elsewhere (another repository, a \
folder you did not check); else include it where it is meant to be used, or remove it.",
    },
    Rule {
        code: "schema/unknown-kind",
        severity: Severity::Error,
        summary: "a kind that does not exist in a built-in API group",
        docs: "The built-in API groups (`v1`, `apps/v1`, `batch/v1`, `networking.k8s.io/v1`, …) are \
fully known: no CustomResourceDefinition can add a kind to them. A kind that is not among them \
(`apiVersion: v1`, `kind: Podd`) is refused by the API server, so it is an error with the closest \
existing kind, not a missing schema.\n\nFix: correct the kind (or the apiVersion).",
    },
    Rule {
        code: "plan-policy/<package>.<rule>",
        severity: Severity::Error,
        summary: "a rule of the team's Rego policies on the merge request's plan matched",
        docs: "Rego modules in the policy folders whose package is `plan` or under it (`package \
plan.main`) are evaluated once per merge request in merge-request mode (`check --base`), read from \
the base revision like every policy. `input` is the plan as `kgate diff --format json` prints it \
(units, their changes with field diffs, `findings`), plus `changed_files` (repository paths the MR \
touches) and `commits` (commits from the base to the head, null when unknown). `deny*` and \
`violation*` rules are errors, `warn*` rules warnings, `exception` skips rules (conftest's \
conventions); the code is `plan-policy/<package below plan>.<rule>` (`package plan.main`, rule \
`deny` → `plan-policy/main.deny`). A result may be an object with `msg`, `resource` (`kind`, `name`, \
`namespace`) and `path` (the field as the plan writes it, or a JSON pointer): the finding is then \
on that field. `kgate verify` runs their `*_test.rego`. examples/plan-policies holds tested \
policies.\n\nFix: what the rule's message says, or except the finding with a reason.",
    },
    Rule {
        code: "plan/destructive",
        severity: Severity::Error,
        summary: "the merge request makes the agent prune a Namespace, CRD, volume or stateful set",
        docs: "In merge-request mode (`check --base`, `kgate diff`) kgate plans what the GitOps agent \
will delete. Some deletions destroy more than the object: a Namespace takes everything in it (the \
finding says how many objects of the repository live there), a CustomResourceDefinition takes every \
object of its kinds in the cluster (it names the kinds and counts the repository's objects of them), \
a PersistentVolumeClaim or a PersistentVolume with `persistentVolumeReclaimPolicy: Delete` takes the \
data, a StatefulSet with volume claim templates takes the workload of its volumes. Typical causes: a \
folder moved out of a Flux Kustomization's path, a unit renamed, a file deleted by mistake.\n\nOnly real \
prunes are reported, as the agents decide: a unit with prune off, an object marked \
`kustomize.toolkit.fluxcd.io/prune: disabled` (Flux) or `argocd.argoproj.io/sync-options: Prune=false` \
(Argo CD, also as the Application's sync option), an Argo CD Application without automated sync, or \
one deleted without its resources finalizer, leave the object in the cluster (\"orphaned\"). A \
chart's object is Helm's to delete: helm-controller's upgrade deletes what the chart stops rendering \
whatever the Kustomization's prune, and Helm never deletes an object marked \
`helm.sh/resource-policy: keep` (Argo CD keeps it when the Application is deleted). The \
finding is on the deleted object's place in the base revision.\n\nFix: keep the object, or mark it \
as not pruned and merge that before removing it; if the deletion is intended, except the finding \
with a reason.",
    },
    Rule {
        code: "plan/recreate",
        severity: Severity::Warning,
        summary: "a unit is renamed or objects move between units: the agent deletes and re-creates them",
        docs: "The agent tracks objects by the unit that applied them. When a Flux Kustomization or an \
Argo CD Application is renamed (with Argo CD's resources finalizer), or objects move from one unit \
that prunes to another, the old unit deletes them and the new one creates them again — unless the \
new one happens to take them over first. The manifests look unchanged in the diff, but the objects \
are down in between, and what they hold (a volume, a namespace's contents) is lost. The finding is on \
the renamed agent object, or on the first moved object at its new place, and lists the objects.\n\n\
Fix: stop the old unit from deleting them first (`prune: false`, or the opt-out annotations), merge \
that, then rename or move; or accept it with an exception and a reason.",
    },
    Rule {
        code: "plan/dangling-reference",
        severity: Severity::Error,
        summary: "after the merge an object refers to a ConfigMap, Secret, … that nothing provides any more",
        docs: "A Deployment (or any pod template, StatefulSet, PersistentVolumeClaim, Ingress) refers to \
ConfigMaps, Secrets, ServiceAccounts, PersistentVolumeClaims, PriorityClasses, StorageClasses and \
Services by name: in `env`, `envFrom`, `volumes`, `imagePullSecrets`, `serviceAccountName`, \
`priorityClassName`, `serviceName`, `storageClassName`, backends. kgate reports a reference that the \
base revision satisfied and that no unit satisfies after the merge: the target is pruned, or a \
kustomize generator was renamed so that the reference keeps the bare name (`app-config`) while the \
base generated `app-config-<hash>`. Pods then fail to start. References marked `optional: true`, \
targets an operator makes from repository objects (ExternalSecret, SealedSecret, cert-manager \
Certificate), namespaces with objects kgate cannot render (HelmRelease, Helm chart sources) and \
targets the agent keeps (orphaned) are not reported.\n\nFix: keep providing the object, or update \
the reference.",
    },
    Rule {
        code: "plan/image-automation",
        severity: Severity::Error,
        summary: "a Flux image automation marker points at no ImagePolicy or sits on the wrong field",
        docs: "Flux's image automation updates a value whose line comment is \
`{\"$imagepolicy\": \"<namespace>:<name>\"}` (the whole image reference), `…:tag`, `…:name` or \
`…:digest`. A marker that is not that JSON object (single quotes, another key such as \
`$imagePolicy`), names an ImagePolicy the repository does not define (judged only when the \
repository defines ImagePolicies), sits on a key that opens a mapping, or sits on a value of the \
wrong shape (the full form on a `tag:` field, the tag form on an image reference) stops automatic \
updates without any error, or writes a broken value. Markers already broken at the base are \
pre-existing.\n\nFix: correct the marker; the help names the defined policies.",
    },
];

pub fn find(code: &str) -> Option<&'static Rule> {
    if code.starts_with("plan-policy/") {
        return RULES.iter().find(|r| r.code.starts_with("plan-policy/<"));
    }
    RULES.iter().find(|r| r.code == code).or_else(|| {
        // A constraint's finding, `gatekeeper/<kind>/<name>` (or just `gatekeeper`), is
        // explained by the rule of all constraint findings.
        let constraint = code == "gatekeeper" || code.split('/').count() == 3;
        if code.starts_with("vap/") {
            return RULES.iter().find(|r| r.code.starts_with("vap/<"));
        }
        (constraint && code.starts_with("gatekeeper"))
            .then(|| RULES.iter().find(|r| r.code.starts_with("gatekeeper/<")))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_failures_are_the_policy_layers_own_codes() {
        for code in [
            crate::policy::PARSE_ERROR,
            crate::policy::EVAL_ERROR,
            crate::policy::BAD_DATA,
            crate::gatekeeper::INVALID_TEMPLATE,
            crate::gatekeeper::EVAL_ERROR,
        ] {
            assert!(is_tool_failure(code), "{code}");
            assert!(RULES.iter().any(|r| r.code == code), "{code} is registered");
        }
        assert_eq!(TOOL_FAILURES.len(), 5);
        assert!(!is_tool_failure("schema/unknown-field"));
    }
}
