//! How a plain YAML scalar resolves: null, boolean, integer, float or text.
//!
//! Mirrors the resolution serde_yaml_ng applies when it deserializes the same
//! file, so that what the validator accepts, serde accepts too.

/// The type a plain scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative,
    Float(f64),
    Text,
}

/// Resolves a plain (unquoted) scalar.
pub fn resolve_plain(text: &str) -> Resolved {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Resolved::Null;
    }
    if let Some(value) = parse_bool(text) {
        return Resolved::Bool(value);
    }
    if let Some(value) = parse_unsigned(text) {
        return Resolved::Unsigned(value);
    }
    if is_negative_int(text) {
        return Resolved::Negative;
    }
    match parse_float(text) {
        Some(value) if !leading_zero_digits(text) => Resolved::Float(value),
        _ => Resolved::Text,
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Decimal, or `0x`/`0o`/`0b` prefixed, with an optional `+`.
fn parse_unsigned(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(value) = u64::from_str_radix(rest, radix) {
                return Some(value);
            }
        }
    }
    if digits.starts_with(['+', '-']) || leading_zero_digits(text) {
        return None;
    }
    digits.parse().ok()
}

fn is_negative_int(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('-') else {
        return false;
    };
    !leading_zero_digits(text) && !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
}

/// YAML 1.2 reads `007` as text, not as a number.
fn leading_zero_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

fn parse_float(text: &str) -> Option<f64> {
    let unsigned = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(text, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    unsigned
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_yaml_core_schema() {
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("yes"), Resolved::Text);
        assert_eq!(resolve_plain("8080"), Resolved::Unsigned(8080));
        assert_eq!(resolve_plain("0x10"), Resolved::Unsigned(16));
        assert_eq!(resolve_plain("007"), Resolved::Text);
        assert_eq!(resolve_plain("-3"), Resolved::Negative);
        assert_eq!(resolve_plain("-0.5"), Resolved::Float(-0.5));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("inf"), Resolved::Text);
        assert_eq!(resolve_plain("app=hello"), Resolved::Text);
    }
}
