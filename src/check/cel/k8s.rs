//! The Kubernetes CEL environment on the `cel` crate: CEL's standard library and the strings
//! extension (as the API server's `ext.Strings`), plus the Kubernetes libraries of
//! k8s.io/apiserver `pkg/cel/library`: quantity (`quantity`, `isQuantity`, `sign`, `isInteger`,
//! `asInteger`, `asApproximateFloat`, `add`, `sub`, `isGreaterThan`, `isLessThan`,
//! `compareTo`), URLs (`url`, `isURL`, `getScheme`, `getHost`, `getHostname`, `getPort`,
//! `getEscapedPath`, `getQuery`), IP and CIDR (`ip`, `isIP`, `cidr`, `isCIDR`, `family`,
//! `isLoopback`, `isUnspecified`, `isGlobalUnicast`, `isLinkLocalUnicast`,
//! `isLinkLocalMulticast`, `isCanonical`, `containsIP`, `containsCIDR`, `prefixLength`,
//! `masked`), regex (`find`, `findAll`) and lists (`isSorted`, `sum`, `min`, `max`, `indexOf`,
//! `lastIndexOf`), `sets.contains`/`sets.intersects`/`sets.equivalent`, and the `format`
//! library ([`super::format`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use cel::extractors::{Arguments, This};
use cel::objects::Opaque;
use cel::{Context, Env, ExecutionError, Program, Value};

use crate::check::admission::quantity::{self, Quantity};
use crate::check_error::CheckError;

type R = Result<Value, ExecutionError>;

fn err(f: &str, msg: impl ToString) -> ExecutionError {
    ExecutionError::function_error(f, msg)
}

#[derive(Debug, PartialEq, Eq)]
struct CelQuantity(Quantity);
impl Opaque for CelQuantity {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Quantity"
    }
}

#[derive(Debug, PartialEq, Eq)]
struct CelUrl {
    scheme: String,
    host: String,
    path: String,
    query: String,
}
impl Opaque for CelUrl {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.URL"
    }
}

#[derive(Debug, PartialEq, Eq)]
struct CelIp(IpAddr, String);
impl Opaque for CelIp {
    fn runtime_type_name(&self) -> &str {
        "net.IP"
    }
}

#[derive(Debug, PartialEq, Eq)]
struct CelCidr {
    addr: IpAddr,
    prefix: u8,
}
impl Opaque for CelCidr {
    fn runtime_type_name(&self) -> &str {
        "net.CIDR"
    }
}

fn opaque<T: 'static>(v: &Value) -> Option<&T> {
    match v {
        Value::Opaque(o) => o.downcast_ref::<T>(),
        _ => None,
    }
}

/// A CEL optional: `optional.of(v)` or `optional.none()`.
pub fn optional(v: Option<Value>) -> Value {
    Value::Opaque(Arc::new(match v {
        Some(v) => cel::objects::OptionalValue::of(v),
        None => cel::objects::OptionalValue::none(),
    }))
}

/// Whether `s` is what Go's `url.ParseRequestURI` accepts (the CEL `isURL` and the `uri`
/// format).
pub(super) fn is_request_uri(s: &str) -> bool {
    parse_url(s).is_some()
}

fn parse_url(s: &str) -> Option<CelUrl> {
    // url.ParseRequestURI: an absolute URI or an absolute path, no fragment.
    if s.contains('#') || s.contains(char::is_whitespace) {
        return None;
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, rest)) => {
            if sc.is_empty()
                || !sc.starts_with(|c: char| c.is_ascii_alphabetic())
                || !sc
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return None;
            }
            (sc.to_string(), rest)
        }
        None if s.starts_with('/') => (String::new(), s),
        None => return None,
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = if scheme.is_empty() {
        (String::new(), before_query.to_string())
    } else {
        match before_query.find('/') {
            Some(i) => (before_query[..i].to_string(), before_query[i..].to_string()),
            None => (before_query.to_string(), String::new()),
        }
    };
    Some(CelUrl {
        scheme,
        host,
        path,
        query: query.to_string(),
    })
}

fn hostname(host: &str) -> String {
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h).to_string()
}

fn port(host: &str) -> String {
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.starts_with('[') {
        return host
            .rsplit_once("]:")
            .map(|(_, p)| p.to_string())
            .unwrap_or_default();
    }
    host.rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default()
}

/// `ip()` accepts canonical-enough addresses: no zone, no IPv4 with leading zeros.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.contains('%') {
        return None;
    }
    s.parse().ok()
}

fn parse_cidr(s: &str) -> Option<CelCidr> {
    let (a, p) = s.split_once('/')?;
    let addr = parse_ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
        return None;
    }
    let prefix: u8 = p.parse().ok()?;
    (prefix <= max).then_some(CelCidr { addr, prefix })
}

fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

fn cidr_contains(c: &CelCidr, ip: IpAddr) -> bool {
    c.addr.is_ipv4() == ip.is_ipv4() && masked(ip, c.prefix) == masked(c.addr, c.prefix)
}

fn quantity_arg(f: &str, v: &Value) -> Result<Quantity, ExecutionError> {
    match v {
        Value::Int(i) => Ok(Quantity::from_int(*i)),
        other => opaque::<CelQuantity>(other)
            .map(|q| q.0)
            .ok_or_else(|| err(f, "expected a quantity")),
    }
}

fn q(v: Quantity) -> Value {
    Value::Opaque(Arc::new(CelQuantity(v)))
}

fn this_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

fn regex(f: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(r.clone());
    }
    let r = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| err(f, e))?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pattern.to_string(), r.clone());
    Ok(r)
}

fn sorted_cmp(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Opaque(_), Value::Opaque(_)) => {
            let (x, y) = (opaque::<CelQuantity>(a)?, opaque::<CelQuantity>(b)?);
            Some(x.0.cmp(&y.0))
        }
        _ => a.partial_cmp(b),
    }
}

fn list_arg(f: &str, v: &Value) -> Result<Arc<Vec<Value>>, ExecutionError> {
    match v {
        Value::List(l) => Ok(l.clone()),
        _ => Err(err(f, "expected a list")),
    }
}

fn register(ctx: &mut Context<'static, 'static>) -> Result<(), cel::DeclarationError> {
    // Quantity.
    ctx.add_function("quantity", |s: Arc<String>| -> R {
        quantity::parse(&s)
            .map(q)
            .ok_or_else(|| err("quantity", format!("invalid quantity: {s}")))
    })?;
    ctx.add_function("isQuantity", |s: Arc<String>| quantity::parse(&s).is_some())?;
    ctx.add_function("sign", |This(v): This<Value>| -> R {
        Ok(Value::Int(quantity_arg("sign", &v)?.sign()))
    })?;
    ctx.add_function("isInteger", |This(v): This<Value>| -> R {
        Ok(Value::Bool(
            quantity_arg("isInteger", &v)?.as_integer().is_some(),
        ))
    })?;
    ctx.add_function("asInteger", |This(v): This<Value>| -> R {
        quantity_arg("asInteger", &v)?
            .as_integer()
            .map(Value::Int)
            .ok_or_else(|| err("asInteger", "cannot convert value to integer"))
    })?;
    ctx.add_function("asApproximateFloat", |This(v): This<Value>| -> R {
        Ok(Value::Float(
            quantity_arg("asApproximateFloat", &v)?.as_f64(),
        ))
    })?;
    ctx.add_function("add", |This(v): This<Value>, o: Value| -> R {
        let (a, b) = (quantity_arg("add", &v)?, quantity_arg("add", &o)?);
        Ok(q(Quantity {
            nanos: a
                .nanos
                .checked_add(b.nanos)
                .ok_or_else(|| err("add", "overflow"))?,
        }))
    })?;
    ctx.add_function("sub", |This(v): This<Value>, o: Value| -> R {
        let (a, b) = (quantity_arg("sub", &v)?, quantity_arg("sub", &o)?);
        Ok(q(Quantity {
            nanos: a
                .nanos
                .checked_sub(b.nanos)
                .ok_or_else(|| err("sub", "overflow"))?,
        }))
    })?;
    ctx.add_function("isGreaterThan", |This(v): This<Value>, o: Value| -> R {
        Ok(Value::Bool(
            quantity_arg("isGreaterThan", &v)? > quantity_arg("isGreaterThan", &o)?,
        ))
    })?;
    ctx.add_function("isLessThan", |This(v): This<Value>, o: Value| -> R {
        Ok(Value::Bool(
            quantity_arg("isLessThan", &v)? < quantity_arg("isLessThan", &o)?,
        ))
    })?;
    ctx.add_function("compareTo", |This(v): This<Value>, o: Value| -> R {
        let ord = quantity_arg("compareTo", &v)?.cmp(&quantity_arg("compareTo", &o)?);
        Ok(Value::Int(ord as i64))
    })?;
    // URLs.
    ctx.add_function("url", |s: Arc<String>| -> R {
        parse_url(&s)
            .map(|u| Value::Opaque(Arc::new(u)))
            .ok_or_else(|| {
                err(
                    "url",
                    format!("URL parse error during conversion from string: {s}"),
                )
            })
    })?;
    ctx.add_function("isURL", |s: Arc<String>| parse_url(&s).is_some())?;
    fn url_part(f: &'static str, v: &Value, part: fn(&CelUrl) -> String) -> R {
        opaque::<CelUrl>(v)
            .map(|u| Value::String(Arc::new(part(u))))
            .ok_or_else(|| err(f, "expected a URL"))
    }
    ctx.add_function("getScheme", |This(v): This<Value>| {
        url_part("getScheme", &v, |u| u.scheme.clone())
    })?;
    ctx.add_function("getHost", |This(v): This<Value>| {
        url_part("getHost", &v, |u| u.host.clone())
    })?;
    ctx.add_function("getHostname", |This(v): This<Value>| {
        url_part("getHostname", &v, |u| hostname(&u.host))
    })?;
    ctx.add_function("getPort", |This(v): This<Value>| {
        url_part("getPort", &v, |u| port(&u.host))
    })?;
    ctx.add_function("getEscapedPath", |This(v): This<Value>| {
        url_part("getEscapedPath", &v, |u| u.path.clone())
    })?;
    ctx.add_function("getQuery", |This(v): This<Value>| -> R {
        let u = opaque::<CelUrl>(&v).ok_or_else(|| err("getQuery", "expected a URL"))?;
        let mut out: HashMap<String, Vec<Value>> = HashMap::new();
        for pair in u.query.split('&').filter(|p| !p.is_empty()) {
            let (k, val) = pair.split_once('=').unwrap_or((pair, ""));
            out.entry(k.to_string()).or_default().push(Value::from(val));
        }
        Ok(Value::from(
            out.into_iter()
                .map(|(k, v)| (k, Value::List(Arc::new(v))))
                .collect::<HashMap<String, Value>>(),
        ))
    })?;
    // IP addresses and CIDRs.
    ctx.add_function("ip", |v: Value| -> R {
        match &v {
            Value::String(s) => parse_ip(s)
                .map(|a| Value::Opaque(Arc::new(CelIp(a, s.to_string()))))
                .ok_or_else(|| {
                    err(
                        "ip",
                        format!("IP Address '{s}' parse error during conversion from string"),
                    )
                }),
            other => opaque::<CelCidr>(other)
                .map(|c| Value::Opaque(Arc::new(CelIp(c.addr, c.addr.to_string()))))
                .ok_or_else(|| err("ip", "expected a string or a CIDR")),
        }
    })?;
    ctx.add_function("isIP", |s: Arc<String>| parse_ip(&s).is_some())?;
    ctx.add_function("cidr", |s: Arc<String>| -> R {
        parse_cidr(&s)
            .map(|c| Value::Opaque(Arc::new(c)))
            .ok_or_else(|| {
                err(
                    "cidr",
                    format!("network address parse error during conversion from string: {s}"),
                )
            })
    })?;
    ctx.add_function("isCIDR", |s: Arc<String>| parse_cidr(&s).is_some())?;
    fn ip_pred(f: &'static str, v: &Value, p: fn(&IpAddr) -> bool) -> R {
        opaque::<CelIp>(v)
            .map(|i| Value::Bool(p(&i.0)))
            .ok_or_else(|| err(f, "expected an IP"))
    }
    ctx.add_function("family", |This(v): This<Value>| -> R {
        opaque::<CelIp>(&v)
            .map(|i| Value::Int(if i.0.is_ipv4() { 4 } else { 6 }))
            .ok_or_else(|| err("family", "expected an IP"))
    })?;
    ctx.add_function("isLoopback", |This(v): This<Value>| {
        ip_pred("isLoopback", &v, IpAddr::is_loopback)
    })?;
    ctx.add_function("isUnspecified", |This(v): This<Value>| {
        ip_pred("isUnspecified", &v, IpAddr::is_unspecified)
    })?;
    ctx.add_function("isGlobalUnicast", |This(v): This<Value>| {
        ip_pred("isGlobalUnicast", &v, |a| match a {
            IpAddr::V4(x) => {
                !(x.is_loopback()
                    || x.is_unspecified()
                    || x.is_multicast()
                    || x.is_broadcast()
                    || x.is_link_local())
            }
            IpAddr::V6(x) => {
                !(x.is_loopback()
                    || x.is_unspecified()
                    || x.is_multicast()
                    || (x.segments()[0] & 0xffc0) == 0xfe80)
            }
        })
    })?;
    ctx.add_function("isLinkLocalUnicast", |This(v): This<Value>| {
        ip_pred("isLinkLocalUnicast", &v, |a| match a {
            IpAddr::V4(x) => x.is_link_local(),
            IpAddr::V6(x) => (x.segments()[0] & 0xffc0) == 0xfe80,
        })
    })?;
    ctx.add_function("isLinkLocalMulticast", |This(v): This<Value>| {
        ip_pred("isLinkLocalMulticast", &v, |a| match a {
            IpAddr::V4(x) => x.octets()[..3] == [224, 0, 0],
            IpAddr::V6(x) => (x.segments()[0] & 0xff0f) == 0xff02,
        })
    })?;
    ctx.add_function("isCanonical", |This(v): This<Value>| -> R {
        opaque::<CelIp>(&v)
            .map(|i| Value::Bool(i.0.to_string() == i.1))
            .ok_or_else(|| err("isCanonical", "expected an IP"))
    })?;
    ctx.add_function("containsIP", |This(v): This<Value>, o: Value| -> R {
        let c = opaque::<CelCidr>(&v).ok_or_else(|| err("containsIP", "expected a CIDR"))?;
        let ip = match &o {
            Value::String(s) => parse_ip(s).ok_or_else(|| err("containsIP", "invalid IP"))?,
            other => {
                opaque::<CelIp>(other)
                    .ok_or_else(|| err("containsIP", "expected an IP"))?
                    .0
            }
        };
        Ok(Value::Bool(cidr_contains(c, ip)))
    })?;
    ctx.add_function("containsCIDR", |This(v): This<Value>, o: Value| -> R {
        let c = opaque::<CelCidr>(&v).ok_or_else(|| err("containsCIDR", "expected a CIDR"))?;
        let other = match &o {
            Value::String(s) => parse_cidr(s).ok_or_else(|| err("containsCIDR", "invalid CIDR"))?,
            other => {
                let x = opaque::<CelCidr>(other)
                    .ok_or_else(|| err("containsCIDR", "expected a CIDR"))?;
                CelCidr {
                    addr: x.addr,
                    prefix: x.prefix,
                }
            }
        };
        Ok(Value::Bool(
            other.prefix >= c.prefix && cidr_contains(c, other.addr),
        ))
    })?;
    ctx.add_function("prefixLength", |This(v): This<Value>| -> R {
        opaque::<CelCidr>(&v)
            .map(|c| Value::Int(i64::from(c.prefix)))
            .ok_or_else(|| err("prefixLength", "expected a CIDR"))
    })?;
    ctx.add_function("masked", |This(v): This<Value>| -> R {
        opaque::<CelCidr>(&v)
            .map(|c| {
                Value::Opaque(Arc::new(CelCidr {
                    addr: masked(c.addr, c.prefix),
                    prefix: c.prefix,
                }))
            })
            .ok_or_else(|| err("masked", "expected a CIDR"))
    })?;
    // Regex.
    ctx.add_function("find", |This(v): This<Value>, pattern: Arc<String>| -> R {
        let s = this_str(&v).ok_or_else(|| err("find", "expected a string"))?;
        let r = regex("find", &pattern)?;
        Ok(Value::from(r.find(s).map(|m| m.as_str()).unwrap_or("")))
    })?;
    ctx.add_function(
        "findAll",
        |This(v): This<Value>, Arguments(args): Arguments| -> R {
            let s = this_str(&v).ok_or_else(|| err("findAll", "expected a string"))?;
            let pattern = args
                .first()
                .and_then(this_str)
                .ok_or_else(|| err("findAll", "expected a pattern"))?;
            let limit = match args.get(1) {
                Some(Value::Int(n)) if *n >= 0 => *n as usize,
                _ => usize::MAX,
            };
            let r = regex("findAll", pattern)?;
            Ok(Value::List(Arc::new(
                r.find_iter(s)
                    .take(limit)
                    .map(|m| Value::from(m.as_str()))
                    .collect(),
            )))
        },
    )?;
    // Lists.
    ctx.add_function("isSorted", |This(v): This<Value>| -> R {
        let l = list_arg("isSorted", &v)?;
        Ok(Value::Bool(l.windows(2).all(|w| {
            sorted_cmp(&w[0], &w[1]).is_some_and(|o| o != std::cmp::Ordering::Greater)
        })))
    })?;
    ctx.add_function("sum", |This(v): This<Value>| -> R {
        let l = list_arg("sum", &v)?;
        let mut acc: Option<Value> = None;
        for x in l.iter() {
            acc = Some(match (acc, x) {
                (None, x) => x.clone(),
                (Some(Value::Int(a)), Value::Int(b)) => {
                    Value::Int(a.checked_add(*b).ok_or_else(|| err("sum", "overflow"))?)
                }
                (Some(Value::UInt(a)), Value::UInt(b)) => {
                    Value::UInt(a.checked_add(*b).ok_or_else(|| err("sum", "overflow"))?)
                }
                (Some(Value::Float(a)), Value::Float(b)) => Value::Float(a + b),
                (Some(a), b) => {
                    let s = quantity_arg("sum", &a)?.nanos + quantity_arg("sum", b)?.nanos;
                    q(Quantity { nanos: s })
                }
            });
        }
        Ok(acc.unwrap_or(Value::Int(0)))
    })?;
    // `indexOf`/`lastIndexOf` on strings come from the strings extension; lists are added as
    // member overloads in `env()`.
    super::format::register(ctx)?;
    ctx.add_function("sets.contains", |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| {
        b.iter().all(|x| a.contains(x))
    })?;
    ctx.add_function(
        "sets.intersects",
        |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| b.iter().any(|x| a.contains(x)),
    )?;
    ctx.add_function(
        "sets.equivalent",
        |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| {
            b.iter().all(|x| a.contains(x)) && a.iter().all(|x| b.contains(x))
        },
    )?;
    Ok(())
}

/// The shared root context: the environment and every library function, built once.
pub fn root() -> &'static Context<'static, 'static> {
    static ROOT: OnceLock<Context<'static, 'static>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let mut ctx = Context::with_env(env().clone());
        register(&mut ctx).expect("the Kubernetes CEL library registers once without conflicts");
        ctx
    })
}

fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .expect("the strings extension registers on the standard library");
        Arc::new(env)
    })
}

/// The API server stops a CEL evaluation that costs more than its per-call limit (1,000,000
/// cost units, k8s.io/apiserver `pkg/apis/cel` PerCallLimit). The `cel` crate keeps no cost
/// account, so kgate refuses to start an expression whose nested comprehensions (`all`,
/// `exists`, `exists_one`, `map`, `filter`) over the list items it can reach could exceed
/// it: a hostile CRD or policy in the scanned repository cannot stall the gate.
const MAX_COST: u128 = 1_000_000;

/// How deeply comprehension macros nest in `source` (string literals skipped).
pub fn comprehension_depth(source: &str) -> u32 {
    const MACROS: [&str; 5] = ["all", "exists", "exists_one", "map", "filter"];
    let b = source.as_bytes();
    let mut stack: Vec<bool> = Vec::new();
    let (mut depth, mut max) = (0u32, 0u32);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // Skip the literal (escapes included; triple quotes end at the next quote of
                // the same kind, which only shortens the skip).
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => {
                let before = &source[..i];
                let name_start = before
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |p| p + 1);
                let is_macro =
                    MACROS.contains(&&before[name_start..]) && before[..name_start].ends_with('.');
                stack.push(is_macro);
                if is_macro {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            b')' if stack.pop() == Some(true) => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    max
}

/// Every list item under `v` (what comprehensions can iterate).
fn list_items(v: &serde_json::Value) -> u128 {
    match v {
        serde_json::Value::Array(items) => {
            items.len() as u128 + items.iter().map(list_items).sum::<u128>()
        }
        serde_json::Value::Object(m) => m.values().map(list_items).sum(),
        _ => 0,
    }
}

/// Whether evaluating `source` on `inputs` could cost more than the API server allows
/// ([`MAX_COST`]); such an expression is reported as not evaluated, never run.
pub fn too_costly(source: &str, inputs: &[&serde_json::Value]) -> bool {
    let depth = comprehension_depth(source);
    if depth == 0 {
        return false;
    }
    let items: u128 = inputs.iter().map(|v| list_items(v)).sum::<u128>().max(1);
    items.saturating_pow(depth) > MAX_COST
}

/// A compiled program, or why the source does not compile.
type Compiled = Result<Arc<Program>, Arc<cel::ParseErrors>>;

/// Compiles `source` once per run (rules repeat across every object of a kind).
pub fn compile(source: &str) -> Result<Arc<Program>, CheckError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let hit = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(source)
        .cloned();
    let p = hit.unwrap_or_else(|| {
        let p = env().compile(source).map(Arc::new).map_err(Arc::new);
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.to_string(), p.clone());
        p
    });
    p.map_err(CheckError::CelCompile)
}

/// A JSON value as CEL sees it. `schema` (optional, structural) makes `type: number` fields
/// doubles even when written as integers.
pub fn to_cel(v: &serde_json::Value, schema: Option<&serde_json::Value>) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            let number = schema.and_then(|s| s.get("type")).and_then(J::as_str) == Some("number");
            match (n.as_i64(), number) {
                (Some(i), false) => Value::Int(i),
                _ => match n.as_u64() {
                    Some(u) if !number => Value::UInt(u),
                    _ => Value::Float(n.as_f64().unwrap_or(0.0)),
                },
            }
        }
        J::String(s) => typed_string(s, schema).unwrap_or_else(|| Value::from(s.as_str())),
        J::Array(items) => {
            let sub = schema.and_then(|s| s.get("items"));
            Value::List(Arc::new(items.iter().map(|i| to_cel(i, sub)).collect()))
        }
        J::Object(map) => {
            let props = schema.and_then(|s| s.get("properties"));
            let additional = schema.and_then(|s| s.get("additionalProperties"));
            let out: HashMap<String, Value> = map
                .iter()
                .map(|(k, v)| {
                    let sub = props.and_then(|p| p.get(k)).or(additional);
                    (k.clone(), to_cel(v, sub))
                })
                .collect();
            Value::from(out)
        }
    }
}

/// A string the schema types by its `format`, as the API server hands it to CEL
/// (k8s.io/apiserver `pkg/cel` SchemaDeclType): `date`/`date-time` are timestamps, `duration`
/// a duration, `byte` bytes. None: a plain string (or a value the format does not parse, which
/// the schema check reports).
fn typed_string(s: &str, schema: Option<&serde_json::Value>) -> Option<Value> {
    let format = schema?.get("format")?.as_str()?;
    match format {
        "date-time" | "datetime" => {
            let (date, rest) = s.split_at_checked(10)?;
            let normal = format!("{date}T{}", rest.get(1..)?).replace('z', "Z");
            chrono::DateTime::parse_from_rfc3339(&normal)
                .ok()
                .map(Value::Timestamp)
        }
        "date" => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            let t = d.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset();
            Some(Value::Timestamp(t))
        }
        "duration" => go_duration(s).map(Value::Duration),
        "byte" => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .map(|b| Value::Bytes(Arc::new(b)))
        }
        _ => None,
    }
}

/// Go's `time.ParseDuration` (`1h30m`, `-1.5s`, `300ms`, `2us`), and strfmt's `N unit` forms
/// with days and weeks (`3d`, `2 weeks`) that the `duration` format also accepts.
pub fn go_duration(s: &str) -> Option<chrono::Duration> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body == "0" {
        return Some(chrono::Duration::zero());
    }
    let unit_nanos = |u: &str| -> Option<f64> {
        Some(match u {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" | "sec" => 1e9,
            "m" | "min" => 60e9,
            "h" | "hr" | "hour" | "hours" => 3600e9,
            "d" | "day" | "days" => 86_400e9,
            "w" | "wk" | "week" | "weeks" => 604_800e9,
            _ => return None,
        })
    };
    let mut total = 0f64;
    let mut rest = body.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        let after = rest[num_end..].trim_start();
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(after.len());
        total += n * unit_nanos(&after[..unit_end])?;
        rest = after[unit_end..].trim_start();
    }
    let nanos = if neg { -total } else { total };
    (nanos.abs() < 9.2e18).then(|| chrono::Duration::nanoseconds(nanos as i64))
}

/// CEL's value as JSON-ish text, for messages.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => format!("{other:?}"),
    }
}
