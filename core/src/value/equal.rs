//! JSON equality by value. serde_json's `==` compares numbers by their text (the core
//! keeps numbers as text, `arbitrary_precision`), so `2.0 != 2` and `1e3 != 1000`;
//! [`json_equal`] compares what the numbers are.

use serde_json::{Number, Value};

/// Whether `a` and `b` are the same JSON value: objects whatever their key order, arrays
/// element by element, numbers by value.
///
/// Integers, however written (`1000`, `1e3`, `1000.0`) and however large, compare exactly,
/// digit by digit: a Ruby or Python bignum never goes through a float. A number with a
/// fractional part is a double, as in JavaScript, so a comparison with one is between
/// doubles: `0.1` equals `0.1000000000000000000001`, which JavaScript reads as the same
/// number.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| json_equal(a, b)),
        (Value::Object(a), Value::Object(b)) => a.len() == b.len() && a.iter().all(|(key, a)| b.get(key).is_some_and(|b| json_equal(a, b))),
        _ => a == b,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    match (Decimal::parse(&a.to_string()), Decimal::parse(&b.to_string())) {
        (Some(a), Some(b)) if a.is_integer() && b.is_integer() => a == b,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// A number's exact value as `±digits × 10^exponent`, normalised (no leading or trailing
/// zeros in `digits`, zero without a sign) so that equal values are equal structs.
#[derive(Debug, PartialEq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    /// `None` for an exponent beyond i64, which only a float comparison can judge.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, unsigned) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
        let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
        let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let exponent = exponent.strip_prefix('+').unwrap_or(exponent).parse::<i64>().ok()?;
        let all_digits = format!("{integer}{fraction}");
        let significant = all_digits.trim_start_matches('0');
        let digits = significant.trim_end_matches('0');
        let trailing_zeros = (significant.len() - digits.len()) as i64;
        let exponent = exponent.checked_sub(fraction.len() as i64)?.checked_add(trailing_zeros)?;
        Some(match digits.is_empty() {
            true => Decimal { negative: false, digits: String::new(), exponent: 0 },
            false => Decimal { negative, digits: digits.to_string(), exponent },
        })
    }

    fn is_integer(&self) -> bool {
        self.exponent >= 0
    }
}

#[cfg(test)]
mod tests {
    use super::json_equal;
    use serde_json::Value;

    fn equal(a: &str, b: &str) -> bool {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        let (a, b) = (parse(a), parse(b));
        assert_eq!(json_equal(&a, &b), json_equal(&b, &a), "symmetric for {a} and {b}");
        json_equal(&a, &b)
    }

    #[test]
    fn numbers_written_differently_with_the_same_value_are_equal() {
        for (a, b) in [("2", "2.0"), ("1000", "1e3"), ("1000", "1E+3"), ("1000", "10000e-1"), ("0.5", "5e-1"), ("0", "-0"), ("0", "0.0e10"), ("-12.50", "-1.25e1")] {
            assert!(equal(a, b), "{a} == {b}");
        }
        assert!(!equal("2", "2.5") && !equal("1", "-1") && !equal("0.1", "0.2") && !equal("1e3", "1e4"));
    }

    #[test]
    fn integers_beyond_what_a_double_holds_compare_exactly() {
        // 2^53 + 1 and 2^53 are the same double; as integers they differ.
        assert!(!equal("9007199254740993", "9007199254740992"));
        assert!(equal("9007199254740993", "9007199254740993.0"));
        assert!(!equal("123456789012345678901234567890", "123456789012345678901234567891"));
        assert!(equal("123456789012345678901234567890", "1.2345678901234567890123456789e29"));
        assert!(!equal("-18446744073709551616", "18446744073709551616"));
        assert!(equal("1e400", "10e399") && !equal("1e400", "1e401"));
    }

    #[test]
    fn fractions_compare_as_doubles_as_in_javascript() {
        assert!(equal("0.1", "0.1000000000000000000001"));
        assert!(equal("0.30000000000000004", "3.0000000000000004e-1"));
        assert!(!equal("0.30000000000000004", "0.3"));
    }

    #[test]
    fn objects_ignore_key_order_and_arrays_keep_theirs() {
        assert!(equal(r#"{"a": 1, "b": [1.0, {"c": 2e0}]}"#, r#"{"b": [1, {"c": 2}], "a": 1.0}"#));
        assert!(!equal(r#"{"a": 1}"#, r#"{"a": 1, "b": null}"#));
        assert!(!equal("[1, 2]", "[2, 1]") && !equal("[1]", "[1, 1]"));
        assert!(!equal("1", "\"1\"") && !equal("true", "1") && !equal("null", "0"));
    }
}
