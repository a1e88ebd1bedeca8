//! Cron schedules as Argo CD reads a sync window's `schedule` (robfig/cron's standard parser):
//! five fields (minute hour day-of-month month day-of-week) with `*`, `?`, lists, ranges, steps
//! and month/day names, or a descriptor (`@daily`, …). Used to tell whether a window is open at
//! a given minute and when it next opens.

use time::{Duration, OffsetDateTime};

/// A parsed schedule: the allowed values of each field.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// The day-of-month or day-of-week field was `*`/`?`: days match when both match; else
    /// when either does (as cron and robfig/cron do).
    any_day: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    /// Parses a schedule; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(format!("unknown schedule descriptor `{other}`"))
            }
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [min, hour, dom, month, dow] = fields.as_slice() else {
            return Err(format!(
                "`{text}` has {} fields; a schedule has five (minute hour day month weekday)",
                fields.len()
            ));
        };
        let star = |f: &str| f.starts_with('*') || f.starts_with('?');
        Ok(Schedule {
            minutes: field(min, 0, 59, &[])?,
            hours: field(hour, 0, 23, &[])?,
            days: field(dom, 1, 31, &[])?,
            months: field(month, 1, 12, &MONTHS)?,
            weekdays: {
                // 7 is Sunday too.
                let mut w = field(dow, 0, 7, &WEEKDAYS)?;
                if w[7] {
                    w[0] = true;
                }
                w.truncate(7);
                w
            },
            any_day: star(dom) || star(dow),
        })
    }

    /// Whether the schedule fires at this minute.
    pub fn matches(&self, t: OffsetDateTime) -> bool {
        let day = self.days[t.day() as usize];
        let weekday = self.weekdays[t.weekday().number_days_from_sunday() as usize];
        let day_ok = if self.any_day {
            day && weekday
        } else {
            day || weekday
        };
        self.minutes[t.minute() as usize]
            && self.hours[t.hour() as usize]
            && self.months[u8::from(t.month()) as usize]
            && day_ok
    }

    /// Whether a window of `length` starting at each firing is open at `now`.
    pub fn open_at(&self, now: OffsetDateTime, length: Duration) -> bool {
        let now = truncate(now);
        let minutes = length.whole_minutes().clamp(0, MAX_SCAN);
        (0..minutes).any(|back| self.matches(now - Duration::minutes(back)))
    }

    /// The next firing after `now` within a year (None if it never fires in that time).
    pub fn next_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = truncate(now);
        (1..=MAX_SCAN)
            .map(|m| start + Duration::minutes(m))
            .find(|t| self.matches(*t))
    }
}

/// Minutes looked at, back (window length) or forward (next firing): one year.
const MAX_SCAN: i64 = 366 * 24 * 60;

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

/// One field: a comma list of `*`, `N`, `A-B`, each with an optional `/STEP`.
fn field(text: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; hi as usize + 1];
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + lo);
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("`{s}` is not a value from {lo} to {hi}"))
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("`{s}` is not a step"))?,
            ),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `N/STEP` runs from N to the end.
                None if step > 1 => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if from > to {
            return Err(format!("`{range}` goes backwards"));
        }
        for v in (from..=to).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

/// A Go duration (`1h`, `30m`, `1h30m`, `90s`) as Argo CD reads a window's `duration`.
pub fn go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += Duration::seconds_f64(n * unit);
        any = true;
    }
    (number.is_empty() && any).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fields_lists_ranges_steps_and_names() {
        let s = Schedule::parse("*/15 9-17 * * MON-FRI").unwrap();
        assert!(s.matches(datetime!(2026-11-30 09:45 UTC))); // a Monday
        assert!(!s.matches(datetime!(2026-11-30 09:46 UTC)));
        assert!(!s.matches(datetime!(2026-11-29 09:45 UTC))); // a Sunday
        let d = Schedule::parse("@daily").unwrap();
        assert!(d.matches(datetime!(2026-11-29 00:00 UTC)));
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("* * *").is_err());
        // Day of month OR day of week when both are given.
        let both = Schedule::parse("0 0 1 * SUN").unwrap();
        assert!(both.matches(datetime!(2026-11-29 00:00 UTC)));
        assert!(both.matches(datetime!(2026-12-01 00:00 UTC)));
        assert!(!both.matches(datetime!(2026-12-02 00:00 UTC)));
    }

    #[test]
    fn windows_open_for_their_duration_and_open_next() {
        let s = Schedule::parse("0 22 * * *").unwrap();
        let eight_hours = go_duration("8h").unwrap();
        assert!(s.open_at(datetime!(2026-11-30 03:10 UTC), eight_hours));
        assert!(!s.open_at(datetime!(2026-11-30 06:00 UTC), eight_hours));
        assert_eq!(
            s.next_after(datetime!(2026-11-30 06:00 UTC)),
            Some(datetime!(2026-11-30 22:00 UTC))
        );
        assert_eq!(
            Schedule::parse("0 0 30 2 *")
                .unwrap()
                .next_after(datetime!(2026-11-30 06:00 UTC)),
            None
        );
        assert_eq!(go_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(go_duration("2d"), None);
    }
}
