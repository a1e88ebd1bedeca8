//! The Kubernetes CEL `format` library (k8s.io/apiserver `pkg/cel/library/format.go`):
//! `format.named(name) -> ?Format`, `format.<name>() -> Format` and
//! `<Format>.validate(string) -> ?list<string>` (none when the string is valid, else the
//! reasons), with the API server's named formats: DNS-1123 labels and subdomains, DNS-1035
//! labels (and their generateName `…Prefix` forms), qualified names, label values, and the CRD
//! formats uri, uuid, byte, date and datetime.

use std::sync::Arc;

use cel::extractors::This;
use cel::objects::Opaque;

use super::k8s::optional;
use cel::{Context, ExecutionError, Value};

use crate::check::admission::formats;

/// The named formats, as `format.named` knows them.
pub const NAMES: [&str; 13] = [
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime",
];

#[derive(Debug, PartialEq, Eq)]
struct Format(&'static str);
impl Opaque for Format {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.NamedFormat"
    }
}

/// The reasons `s` is not in format `name` (empty: valid).
pub fn validate(name: &str, s: &str) -> Vec<String> {
    // apimachinery's NameIsDNS*(s, prefix=true) checks a generateName prefix with its trailing
    // '-' replaced by a letter.
    let as_prefix = |s: &str| -> String {
        match s.strip_suffix('-') {
            Some(rest) => format!("{rest}a"),
            None => s.to_string(),
        }
    };
    let reason = match name {
        "dns1123Label" => formats::dns1123_label(s),
        "dns1123Subdomain" => formats::dns1123_subdomain(s),
        "dns1035Label" => formats::dns1035_label(s),
        "qualifiedName" => formats::qualified_name(s),
        "dns1123LabelPrefix" => formats::dns1123_label(&as_prefix(s)),
        "dns1123SubdomainPrefix" => formats::dns1123_subdomain(&as_prefix(s)),
        "dns1035LabelPrefix" => formats::dns1035_label(&as_prefix(s)),
        "labelValue" => formats::label_value(s),
        "uri" => (!super::k8s::is_request_uri(s))
            .then(|| format!("parse {s:?}: invalid URI for request")),
        "uuid" => (!is_uuid(s)).then(|| "does not match the UUID format".to_string()),
        "byte" => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .is_err()
                .then(|| "invalid base64".to_string())
        }
        "date" => (!is_date(s)).then(|| "invalid date".to_string()),
        "datetime" => (!is_datetime(s)).then(|| "invalid datetime".to_string()),
        _ => Some(format!("unknown format {name}")),
    };
    reason.into_iter().collect()
}

/// strfmt's UUID: 8-4-4-4-12 hexadecimal digits (any version, either case).
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// RFC 3339 full-date (`2006-01-02`), a real calendar day.
fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
}

/// strfmt's date-time: an RFC 3339 date-time (`T`, `t` or a space between date and time,
/// fractional seconds optional, `Z`/`z` or a numeric offset).
fn is_datetime(s: &str) -> bool {
    if s.len() < 20 {
        return false;
    }
    let (date, rest) = s.split_at(10);
    let sep = rest.as_bytes()[0];
    if !is_date(date) || !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    let normal = format!("{date}T{}", &rest[1..]).replace('z', "Z");
    chrono::DateTime::parse_from_rfc3339(&normal).is_ok()
}

/// Registers `format.named`, `format.<name>()` and `validate`.
pub fn register(ctx: &mut Context<'static, 'static>) -> Result<(), cel::DeclarationError> {
    for name in NAMES {
        ctx.add_function(&format!("format.{name}"), move || {
            Value::Opaque(Arc::new(Format(name)))
        })?;
    }
    ctx.add_function("format.named", |name: Arc<String>| {
        optional(
            NAMES
                .iter()
                .find(|n| **n == name.as_str())
                .map(|n| Value::Opaque(Arc::new(Format(n)))),
        )
    })?;
    ctx.add_function(
        "validate",
        |This(f): This<Value>, s: Arc<String>| -> Result<Value, ExecutionError> {
            let Value::Opaque(o) = &f else {
                return Err(ExecutionError::function_error("validate", "not a format"));
            };
            let Some(Format(name)) = o.downcast_ref::<Format>() else {
                return Err(ExecutionError::function_error("validate", "not a format"));
            };
            let reasons = validate(name, &s);
            Ok(optional((!reasons.is_empty()).then(|| {
                Value::List(Arc::new(reasons.into_iter().map(Value::from).collect()))
            })))
        },
    )?;
    Ok(())
}
