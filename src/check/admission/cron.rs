//! CronJob schedules as the API server parses them: robfig/cron v3 `ParseStandard` (five fields,
//! names for months and weekdays, `*`/`?`, ranges, steps, lists, and the `@yearly`, `@annually`,
//! `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <duration>`
//! descriptors), called from `validateScheduleFormat` in k8s.io/kubernetes
//! `pkg/apis/batch/validation/validation.go`.

use crate::check_error::CheckError;

/// Why the schedule does not parse, or None.
pub fn parse_error(schedule: &str) -> Option<String> {
    let mut spec = schedule.trim();
    if spec.is_empty() {
        return Some("empty spec string".into());
    }
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let Some((tz, rest)) = spec.split_once(' ') else {
            return Some("missing the schedule after the time zone".into());
        };
        if tz.split_once('=').is_none_or(|(_, loc)| loc.is_empty()) {
            return Some("provided bad location".into());
        }
        spec = rest.trim();
    }
    if spec.starts_with('@') {
        return descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(u32, u32, Names); 5] = [
        (0, 59, None),
        (0, 23, None),
        (1, 31, None),
        (1, 12, Some((&MONTHS, 1))),
        (0, 6, Some((&DAYS, 0))),
    ];
    for (field, (min, max, names)) in fields.iter().zip(bounds) {
        for expr in field.split(',') {
            if let Some(why) = range(expr, min, max, names) {
                return Some(why);
            }
        }
    }
    None
}

/// A field's names (`jan`…, `sun`…) and the value of the first one.
type Names = Option<(&'static [&'static str], u32)>;

fn descriptor(spec: &str) -> Option<String> {
    match spec {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => {
            None
        }
        _ => match spec.strip_prefix("@every ") {
            Some(d) => go_duration(d)
                .is_none()
                .then(|| format!("failed to parse duration {spec}")),
            None => Some(format!("unrecognized descriptor: {spec}")),
        },
    }
}

fn range(expr: &str, min: u32, max: u32, names: Names) -> Option<String> {
    let parts: Vec<&str> = expr.split('/').collect();
    if parts.len() > 2 {
        return Some(format!("too many slashes: {expr}"));
    }
    let bounds: Vec<&str> = parts[0].split('-').collect();
    let (start, mut end) = if bounds[0] == "*" || bounds[0] == "?" {
        (min, max)
    } else {
        let start = match value(bounds[0], names) {
            Ok(v) => v,
            Err(e) => return Some(e.to_string()),
        };
        let end = match bounds.len() {
            1 => start,
            2 => match value(bounds[1], names) {
                Ok(v) => v,
                Err(e) => return Some(e.to_string()),
            },
            _ => return Some(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    if parts.len() == 2 {
        let step = match number(parts[1]) {
            Ok(v) => v,
            Err(e) => return Some(e.to_string()),
        };
        if step == 0 {
            return Some(format!("step of range should be a positive number: {expr}"));
        }
        // "N/step" means "N-max/step".
        if bounds.len() == 1 && bounds[0] != "*" && bounds[0] != "?" {
            end = max;
        }
    }
    if start < min {
        return Some(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Some(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Some(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    None
}

fn value(s: &str, names: Names) -> Result<u32, CheckError> {
    if let Some((names, first)) = names {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(first + i as u32);
        }
    }
    number(s)
}

fn number(s: &str) -> Result<u32, CheckError> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    let given = || s.to_string();
    if s.starts_with('-') {
        return Err(CheckError::CronNegative { given: given() });
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckError::CronNotANumber { given: given() });
    }
    digits
        .parse()
        .map_err(|_| CheckError::CronNotANumber { given: given() })
}

/// Go's `time.ParseDuration` syntax: `[+-]` then one or more `<decimal><unit>` (ns, us, µs,
/// ms, s, m, h), or `0`. Returns the duration in seconds.
pub fn go_duration(s: &str) -> Option<f64> {
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..n];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let v: f64 = num.parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += v * scale;
        rest = &rest[u..];
    }
    Some(if s.starts_with('-') { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedules() {
        for ok in [
            "*/5 * * * *",
            "0 0 * * 0",
            "0 3 * * mon-fri",
            "15 2 1 JAN,jul ?",
            "5/15 * * * *",
            "0 0 1-31/2 * *",
            "@hourly",
            "@every 1h30m",
            "TZ=Europe/Paris 0 6 * * *",
            "CRON_TZ=UTC @daily",
        ] {
            assert_eq!(parse_error(ok), None, "{ok}");
        }
        for bad in [
            "* * * *",
            "0 0 * * * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "0 0 * * 7",
            "*/0 * * * *",
            "5-2 * * * *",
            "a * * * *",
            "@weekday",
            "@every 1x",
            "1-2-3 * * * *",
            "",
        ] {
            assert!(parse_error(bad).is_some(), "{bad}");
        }
        // robfig/cron's words for a field that is not a number.
        assert_eq!(
            parse_error("a * * * *").as_deref(),
            Some("failed to parse int from a")
        );
        assert_eq!(
            parse_error("0 0 * * */-1").as_deref(),
            Some("negative number (-1) not allowed: -1")
        );
    }
}
