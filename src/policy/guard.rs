//! Size guards in front of the Rego builtins whose result can be far larger than their
//! arguments (`numbers.range(0, 100000000000)`, `sprintf("%0999999999d", …)`,
//! `net.cidr_expand("::/0")`, `replace(s, "", s)`, `bits.lsh(1, 4000000000)`).
//!
//! regorus 0.14 allocates such a result in one go (`Vec::with_capacity(n)`) before any of its
//! own checks run, and its memory accounting (`allocator-memory-limits`) only exists with its
//! own `regorus-mimalloc` allocator, which kgate does not use; a failed allocation aborts the
//! whole process. So each of these builtins is registered again as an engine extension of the
//! same name (regorus looks extensions up before builtins): the extension computes the size
//! the result would have from the arguments alone, fails the evaluation with a message naming
//! `--memory-target` when it would not fit, and otherwise calls regorus's own builtin, so the
//! results are exactly regorus's.

use std::sync::atomic::{AtomicU64, Ordering};

use regorus::unstable::{Expr, Ref, Source, Span, BUILTINS};
use regorus::{Engine, Value};

/// Bytes one element of a builtin's array result costs at least: the value, its number or
/// string, and the array's growth slack.
pub const BYTES_PER_ELEMENT: u64 = 64;

/// The run's memory target in bytes, shared by every engine (extensions are plain functions
/// that cannot carry per-run state through regorus' clones); `--memory-target` sets it.
static MEMORY_TARGET: AtomicU64 = AtomicU64::new(crate::limits::DEFAULT_MEMORY_TARGET);

/// Sets the memory target the guards measure results against.
pub fn set_memory_target(bytes: u64) {
    MEMORY_TARGET.store(bytes.max(1), Ordering::Relaxed);
}

/// What one builtin result may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most elements of an array result.
    pub elements: u64,
    /// Most bytes of a string (or big number) result.
    pub bytes: u64,
}

impl Budget {
    /// One result may take a quarter of the memory target: the evaluation holds it, copies
    /// of it and whatever else the run holds at the same time.
    pub fn of(memory_target: u64) -> Budget {
        Budget {
            elements: memory_target / 4 / BYTES_PER_ELEMENT,
            bytes: memory_target / 4,
        }
    }

    fn current() -> Budget {
        Budget::of(MEMORY_TARGET.load(Ordering::Relaxed))
    }
}

/// The guarded builtins: (name, number of arguments, size check).
type Check = fn(&[Value], Budget) -> Verdict;
const GUARDED: &[(&str, u8, Check)] = &[
    ("numbers.range", 2, check_range),
    ("numbers.range_step", 3, check_range_step),
    ("net.cidr_expand", 1, check_cidr_expand),
    ("sprintf", 2, check_sprintf),
    ("replace", 3, check_replace),
    ("regex.replace", 3, check_replace),
    ("bits.lsh", 2, check_lsh),
];

/// What a size check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Small enough: call regorus' builtin.
    Run,
    /// Undefined without calling the builtin (arguments regorus would mishandle).
    Undefined,
    /// Too large: this message.
    TooLarge(String),
}

/// Registers the guards on `engine`. Builtins the engine does not have are skipped.
pub fn add_to(engine: &mut Engine) -> anyhow::Result<()> {
    for (name, nargs) in guarded() {
        engine.add_extension(
            name.to_string(),
            nargs,
            Box::new(move |args: Vec<Value>| call(name, args)),
        )?;
    }
    Ok(())
}

/// The guarded builtins regorus has: (name, number of arguments). For engines that take
/// builtins by name (the RVM's host-await builtins in bench/rego_rvm.rs).
pub fn guarded() -> impl Iterator<Item = (&'static str, u8)> {
    GUARDED
        .iter()
        .filter(|(name, _, _)| BUILTINS.contains_key(name))
        .map(|(name, nargs, _)| (*name, *nargs))
}

/// Calls guarded builtin `name` on `args`: fails when the result would not fit the memory
/// target, else returns regorus's own result (undefined on a builtin error, as kgate runs
/// regorus with strict builtin errors off). An unknown name is an error.
pub fn call(name: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    let Some((_, _, check)) = GUARDED.iter().find(|(n, _, _)| *n == name) else {
        anyhow::bail!("{name} is not a guarded builtin");
    };
    let Some(builtin) = BUILTINS.get(name).map(|b| b.0) else {
        anyhow::bail!("regorus has no builtin {name}");
    };
    match check(&args, Budget::current()) {
        Verdict::Run => {}
        Verdict::Undefined => return Ok(Value::Undefined),
        Verdict::TooLarge(why) => anyhow::bail!(
            "{name}: {why}, more than one builtin result may take under the memory \
target of {} bytes (--memory-target / `memory_target`)",
            MEMORY_TARGET.load(Ordering::Relaxed)
        ),
    }
    let (span, params) = call_site(name, args.len())?;
    Ok(builtin(&span, &params, &args, false).unwrap_or(Value::Undefined))
}

/// A span and parameter expressions for calling a builtin directly: regorus uses them only to
/// word its errors, which the non-strict call above turns into undefined anyway.
fn call_site(name: &str, n: usize) -> anyhow::Result<(Span, Vec<Ref<Expr>>)> {
    let source = Source::from_contents(format!("<{name}>"), name.to_string())?;
    let span = Span {
        source,
        line: 1,
        col: 1,
        start: 0,
        end: u32::try_from(name.len()).unwrap_or(0),
    };
    let params = (0..n)
        .map(|_| {
            Ref::new(Expr::Var {
                span: span.clone(),
                value: Value::from(name),
                eidx: 0,
            })
        })
        .collect();
    Ok((span, params))
}

fn int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) if n.is_integer() => n.as_i64().map(i128::from),
        _ => None,
    }
}

fn string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

fn too_many(what: &str, n: u128, budget: u64) -> Verdict {
    if n > u128::from(budget) {
        Verdict::TooLarge(format!("{what} would have {n} elements"))
    } else {
        Verdict::Run
    }
}

fn check_range(args: &[Value], budget: Budget) -> Verdict {
    match (args.first().and_then(int), args.get(1).and_then(int)) {
        (Some(a), Some(b)) => too_many(
            &format!("numbers.range({a}, {b})"),
            a.abs_diff(b) + 1,
            budget.elements,
        ),
        _ => Verdict::Run,
    }
}

fn check_range_step(args: &[Value], budget: Budget) -> Verdict {
    let (Some(a), Some(b)) = (args.first().and_then(int), args.get(1).and_then(int)) else {
        return Verdict::Run;
    };
    match args.get(2).and_then(int) {
        // OPA rejects a step that is not positive; regorus divides by it (a zero step panics).
        Some(step) if step <= 0 => Verdict::Undefined,
        Some(step) => too_many(
            &format!("numbers.range_step({a}, {b}, {step})"),
            a.abs_diff(b) / step.unsigned_abs() + 1,
            budget.elements,
        ),
        None => Verdict::Run,
    }
}

fn check_cidr_expand(args: &[Value], budget: Budget) -> Verdict {
    let Some(cidr) = args.first().and_then(string) else {
        return Verdict::Run;
    };
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return Verdict::Run;
    };
    let Ok(prefix) = prefix.parse::<u32>() else {
        return Verdict::Run;
    };
    let bits: u32 = if addr.contains(':') { 128 } else { 32 };
    let Some(host_bits) = bits.checked_sub(prefix) else {
        return Verdict::Run;
    };
    let hosts = if host_bits >= 127 {
        u128::MAX
    } else {
        1u128 << host_bits
    };
    too_many(
        &format!("net.cidr_expand({cidr:?})"),
        hosts,
        budget.elements,
    )
}

/// The widths and precisions of a format string (`%08d`, `%.3f`, `%10s`): regorus pads to
/// them without a bound (and a width of ten digits or more overflows its parser).
fn check_sprintf(args: &[Value], budget: Budget) -> Verdict {
    let Some(format) = args.first().and_then(string) else {
        return Verdict::Run;
    };
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let mut digits = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || "+-# ".contains(d) {
                digits.push(d);
                chars.next();
            } else {
                break;
            }
        }
        for run in digits.split(|d: char| !d.is_ascii_digit()) {
            let run = run.trim_start_matches('0');
            let too_wide = run.len() > 18 || run.parse::<u64>().is_ok_and(|w| w > budget.bytes);
            if too_wide {
                return Verdict::TooLarge(format!(
                    "sprintf format width {run} would build a string of that many bytes"
                ));
            }
        }
        if chars.peek() == Some(&'%') {
            chars.next();
        }
    }
    Verdict::Run
}

/// `replace(s, old, new)` / `regex.replace(s, pattern, new)`: at most one replacement per
/// character boundary (an empty pattern matches at every one), each at most `new` long, plus
/// for a regex every `$group` in `new` expanding to at most all of `s`.
fn check_replace(args: &[Value], budget: Budget) -> Verdict {
    let (Some(s), Some(new)) = (args.first().and_then(string), args.get(2).and_then(string)) else {
        return Verdict::Run;
    };
    let matches = s.chars().count() as u128 + 1;
    let per_match = new.len() as u128 + new.matches('$').count() as u128 * s.len() as u128;
    let size = s.len() as u128 + matches * per_match;
    if size > u128::from(budget.bytes) {
        Verdict::TooLarge(format!(
            "replacing in a string of {} bytes with {} bytes each time may build a string of \
{size} bytes",
            s.len(),
            new.len()
        ))
    } else {
        Verdict::Run
    }
}

fn check_lsh(args: &[Value], budget: Budget) -> Verdict {
    match args.get(1).and_then(int) {
        Some(shift) if shift > 0 && (shift as u128) / 8 > u128::from(budget.bytes) => {
            Verdict::TooLarge(format!(
                "bits.lsh by {shift} bits would build a number of {} bytes",
                shift / 8
            ))
        }
        _ => Verdict::Run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(query: &str) -> anyhow::Result<Value> {
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(false);
        add_to(&mut engine)?;
        engine.add_policy(
            "g.rego".into(),
            format!("package g\nimport rego.v1\nx := {query}\n"),
        )?;
        engine.eval_rule("data.g.x".into())
    }

    #[test]
    fn small_results_are_regorus_own() {
        assert_eq!(
            eval("numbers.range(1, 3)").unwrap(),
            Value::from_json_str("[1,2,3]").unwrap()
        );
        assert_eq!(
            eval("numbers.range(3, 1)").unwrap(),
            Value::from_json_str("[3,2,1]").unwrap()
        );
        assert_eq!(
            eval("numbers.range_step(0, 10, 5)").unwrap(),
            Value::from_json_str("[0,5,10]").unwrap()
        );
        assert_eq!(
            eval(r#"sprintf("%05d-%s", [42, "a"])"#).unwrap(),
            Value::from("00042-a")
        );
        assert_eq!(
            eval(r#"replace("aXbX", "X", "-")"#).unwrap(),
            Value::from("a-b-")
        );
        assert_eq!(
            eval(r#"count(net.cidr_expand("10.0.0.0/30"))"#).unwrap(),
            Value::from(4u64)
        );
        assert_eq!(eval("bits.lsh(1, 4)").unwrap(), Value::from(16u64));
        // A non-integer bound is undefined, as regorus' non-strict builtin makes it.
        assert_eq!(eval("numbers.range(1.5, 3)").unwrap(), Value::Undefined);
        // A zero step would divide by zero inside regorus.
        assert_eq!(
            eval("numbers.range_step(0, 10, 0)").unwrap(),
            Value::Undefined
        );
    }

    #[test]
    fn huge_results_are_an_error_naming_the_memory_target() {
        for q in [
            "numbers.range(0, 100000000000)",
            "numbers.range(100000000000, 0)",
            "numbers.range_step(0, 100000000000, 2)",
            r#"net.cidr_expand("::/0")"#,
            r#"net.cidr_expand("0.0.0.0/0")"#,
            r#"sprintf("%099999999999d", [1])"#,
            r#"sprintf("%.99999999999f", [1])"#,
        ] {
            let err = format!("{:#}", eval(q).unwrap_err());
            assert!(err.contains("--memory-target"), "{q}: {err}");
        }
    }

    #[test]
    fn budgets_scale_with_the_memory_target() {
        let b = Budget::of(8 << 30);
        assert_eq!(b.bytes, 2 << 30);
        assert_eq!(b.elements, (2 << 30) / BYTES_PER_ELEMENT);
        let small = Budget::of(1 << 20);
        assert_eq!(
            check_range(&[Value::from(0u64), Value::from(10_000u64)], small),
            Verdict::TooLarge("numbers.range(0, 10000) would have 10001 elements".into())
        );
        assert_eq!(
            check_range(&[Value::from(0u64), Value::from(100u64)], small),
            Verdict::Run
        );
        assert!(matches!(
            check_replace(
                &[
                    Value::from("a".repeat(2000)),
                    Value::from(""),
                    Value::from("b".repeat(2000))
                ],
                small
            ),
            Verdict::TooLarge(_)
        ));
        assert!(matches!(
            check_lsh(&[Value::from(1u64), Value::from(80_000_000u64)], small),
            Verdict::TooLarge(_)
        ));
    }
}
