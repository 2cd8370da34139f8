//! Numbers and durations as hosts hand them over and take them back. Integers of any size
//! stay exact; nothing silently becomes a float.

use std::time::Duration;

use serde_json::Number;

use super::convert::{ConversionError, Problem};
use crate::MAX_TIMEOUT;

/// A JSON number in the shape a host builds it from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostNumber<'a> {
    Int(i64),
    /// Beyond `i64` but within `u64`.
    UInt(u64),
    /// An integer beyond 64 bits, as decimal digits (and a sign) for the host to parse.
    BigInt(&'a str),
    /// Anything with a fraction or an exponent; out-of-range text is an infinity, as
    /// Ruby's `Float()` and Python's `float()` make it.
    Float(f64),
}

impl HostNumber<'_> {
    /// How `number` should reach the host.
    pub fn of(number: &Number) -> HostNumber<'_> {
        if let Some(i) = number.as_i64() {
            return HostNumber::Int(i);
        }
        if let Some(u) = number.as_u64() {
            return HostNumber::UInt(u);
        }
        let text = number.as_str();
        match text.contains(['.', 'e', 'E']) {
            true => HostNumber::Float(text.parse().unwrap_or(f64::NAN)),
            false => HostNumber::BigInt(text),
        }
    }
}

/// A host integer beyond 64 bits, from its decimal digits (`-` allowed): kept exact.
pub fn big_integer(digits: &str) -> Option<Number> {
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    match !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        true => digits.parse().ok(),
        false => None,
    }
}

/// A host float; NaN and the infinities are refused, JSON having no such numbers.
pub fn float<H>(f: f64) -> Result<Number, ConversionError<H>> {
    Number::from_f64(f).ok_or_else(|| ConversionError::new(Problem::NotFinite(f)))
}

/// A duration given in seconds was negative, not a number, or absurdly long.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{option} must be a number of seconds from 0 to {} ({} days), not {seconds:?}", MAX_TIMEOUT.as_secs(), MAX_TIMEOUT.as_secs() / 86_400)]
pub struct InvalidSeconds {
    /// The option that was given, e.g. `timeout`.
    pub option: String,
    pub seconds: f64,
}

/// A duration a host gives in seconds (`timeout: 1.5`), for the option named `option`.
/// Longer than [`MAX_TIMEOUT`] is surely a unit mistake, and would overflow deadlines.
pub fn seconds(seconds: f64, option: &str) -> Result<Duration, InvalidSeconds> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| *duration <= MAX_TIMEOUT)
        .ok_or_else(|| InvalidSeconds { option: option.to_owned(), seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_are_classified_by_the_host_type_that_holds_them_exactly() {
        assert_eq!(HostNumber::of(&number("-7")), HostNumber::Int(-7));
        assert_eq!(HostNumber::of(&number("18446744073709551615")), HostNumber::UInt(u64::MAX));
        assert_eq!(HostNumber::of(&number("-18446744073709551616")), HostNumber::BigInt("-18446744073709551616"));
        assert_eq!(HostNumber::of(&number("2.0")), HostNumber::Float(2.0));
        assert_eq!(HostNumber::of(&number("1e3")), HostNumber::Float(1000.0));
        assert_eq!(HostNumber::of(&number("1e400")), HostNumber::Float(f64::INFINITY));
    }

    #[test]
    fn big_integers_keep_their_digits_and_refuse_anything_else() {
        assert_eq!(big_integer("-1267650600228229401496703205376").unwrap().as_str(), "-1267650600228229401496703205376");
        assert!(big_integer("1e30").is_none());
        assert!(big_integer("-").is_none());
        assert!(float::<()>(f64::INFINITY).is_err());
    }

    #[test]
    fn seconds_refuse_negative_nan_infinite_and_absurd_durations() {
        assert_eq!(seconds(1.5, "timeout"), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds(0.0, "timeout"), Ok(Duration::ZERO));
        assert_eq!(seconds(MAX_TIMEOUT.as_secs_f64(), "timeout"), Ok(MAX_TIMEOUT));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e19, MAX_TIMEOUT.as_secs_f64() + 1.0] {
            let error = seconds(bad, "timeout").unwrap_err();
            assert!(error.to_string().starts_with("timeout must be a number of seconds from 0 to 31622400 (366 days)"), "{error}");
        }
    }
}
