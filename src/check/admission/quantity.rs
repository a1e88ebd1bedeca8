//! Kubernetes resource quantities (k8s.io/apimachinery `pkg/api/resource`): `500m`, `1.5`,
//! `128Mi`, `2Gi`, `1e3`. Parsed exactly into nano-units, enough to compare requests with
//! limits and to back CEL's `quantity()` library.

/// A quantity as a whole number of nano-units (10⁻⁹).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    pub nanos: i128,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    pub fn from_int(i: i64) -> Quantity {
        Quantity {
            nanos: i128::from(i) * NANO,
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_integer(&self) -> Option<i64> {
        if self.nanos % NANO != 0 {
            return None;
        }
        i64::try_from(self.nanos / NANO).ok()
    }

    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    pub fn sign(&self) -> i64 {
        self.nanos.signum() as i64
    }
}

/// Parses a quantity the way `resource.ParseQuantity` accepts it; None when it does not (or the
/// value is beyond what kgate can hold exactly).
pub fn parse(s: &str) -> Option<Quantity> {
    let s = s.trim_end();
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let (pow2, pow10): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        other => {
            let exp = other.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4
            {
                return None;
            }
            (0, exp.parse().ok()?)
        }
    };
    let scale10 = 9 + pow10 - frac_part.len() as i32;
    let mut v = mantissa.checked_mul(1i128.checked_shl(pow2)?)?;
    if scale10 >= 0 {
        v = v.checked_mul(10i128.checked_pow(scale10 as u32)?)?;
    } else {
        // Below a nano-unit: round up, as the API server does when it canonicalises.
        let d = 10i128.checked_pow((-scale10) as u32)?;
        v = (v + d - 1) / d;
    }
    Some(Quantity {
        nanos: if neg { -v } else { v },
    })
}

/// A JSON value as a quantity: a string, or a number (`cpu: 1`).
pub fn from_json(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        assert_eq!(parse("1").unwrap(), Quantity::from_int(1));
        assert_eq!(parse("500m").unwrap().nanos, 500_000_000);
        assert_eq!(parse("1.5").unwrap(), parse("1500m").unwrap());
        assert_eq!(parse("1Ki").unwrap(), Quantity::from_int(1024));
        assert_eq!(parse("1e3").unwrap(), Quantity::from_int(1000));
        assert_eq!(parse("1k").unwrap(), Quantity::from_int(1000));
        assert!(parse("128Mi").unwrap() < parse("1Gi").unwrap());
        assert!(parse("1G").unwrap() < parse("1Gi").unwrap());
        assert_eq!(parse("-2").unwrap().sign(), -1);
        assert!(parse("1GB").is_none());
        assert!(parse("abc").is_none());
        assert!(parse("").is_none());
        assert!(parse("1.2.3").is_none());
        assert_eq!(parse("2Gi").unwrap().as_integer(), Some(2 << 30));
        assert_eq!(parse("100m").unwrap().as_integer(), None);
    }
}
