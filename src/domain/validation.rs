//! Input rules for users and orders. Each function returns the clean value or a message
//! that names the field and says what is accepted.

use rust_decimal::Decimal;

use super::records::OrderStatus;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Trimmed, 1–100 characters (characters, not bytes), no control characters.
pub fn name(value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars == 0 {
        return Err(invalid("name", "name must not be empty"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} characters (got {chars})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("name", "name must not contain control characters"));
    }
    if value.chars().all(is_invisible) {
        return Err(invalid("name", "name must have a visible character"));
    }
    Ok(value.to_string())
}

/// Characters that show nothing: white space, Unicode's default-ignorable characters (zero
/// width spaces and joiners, direction marks, variation selectors, tags, the byte order
/// mark, the soft hyphen) and the blank fillers (Hangul, Braille).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// A plausible address: `local@domain.tld`, no spaces, at most 100 characters.
pub fn email(value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid(
            "email",
            format!("email must be at most {MAX_EMAIL_CHARS} characters"),
        ));
    }
    let plausible = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if plausible {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "email",
            "email must be an address like name@example.com",
        ))
    }
}

/// The largest DECIMAL(10,2): 99999999.99.
pub fn max_amount() -> Decimal {
    Decimal::new(9_999_999_999, 2)
}

/// The JSON text of `amount`: a number (`12.5`) or a decimal string (`"12.50"`), parsed
/// exactly (never through a float), at most 2 decimal places, 0 to 99999999.99.
pub fn amount(json_text: &str) -> Result<Decimal, FieldError> {
    let text = match serde_json::from_str::<serde_json::Value>(json_text) {
        // A string is digits with a decimal point at most (the documented form); a JSON
        // number may use any JSON spelling (`1e2`).
        Ok(serde_json::Value::String(s)) if is_plain_decimal(s.trim()) => s,
        Ok(serde_json::Value::String(s)) => {
            return Err(invalid(
                "amount",
                format!(
                    "amount {s:?} is not a decimal number such as \"12.50\" (in a string, digits \
                     and a point only; other spellings go as a JSON number)"
                ),
            ));
        }
        Ok(serde_json::Value::Number(_)) => json_text.trim().to_string(),
        _ => {
            return Err(invalid(
                "amount",
                "amount must be a number or a decimal string such as \"12.50\"",
            ));
        }
    };
    let value: Decimal = text.trim().parse().map_err(|_| {
        invalid(
            "amount",
            format!("amount {text:?} is not a decimal number such as 12.50"),
        )
    })?;
    if value.normalize().scale() > 2 {
        return Err(invalid(
            "amount",
            format!("amount {text} has more than 2 decimal places"),
        ));
    }
    if value.is_sign_negative() && !value.is_zero() {
        return Err(invalid("amount", "amount must not be negative"));
    }
    if value > max_amount() {
        return Err(invalid(
            "amount",
            format!("amount must be at most {}", max_amount()),
        ));
    }
    let mut value = value.normalize();
    value.rescale(2);
    Ok(value)
}

/// `12`, `12.5`, `12.50`: digits, then a point and digits at most.
fn is_plain_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

pub fn status(value: &str) -> Result<OrderStatus, FieldError> {
    OrderStatus::parse(value).ok_or_else(|| {
        let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        invalid(
            "status",
            format!("status must be one of {}", known.join(", ")),
        )
    })
}

/// Ids given for new references (an order's `user_id`) are positive.
pub fn id(field: &'static str, value: i64) -> Result<i64, FieldError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("{field} must be a positive integer"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_characters_not_bytes() {
        assert_eq!(name("  Zoë  ").unwrap(), "Zoë");
        assert!(name(&"é".repeat(100)).is_ok());
        assert!(name(&"é".repeat(101)).is_err());
        assert!(name(&"🙂".repeat(100)).is_ok());
        assert!(name("   ").is_err());
        assert!(name("\u{200B}\u{200B}").is_err(), "zero width spaces only");
        assert!(name("\u{FEFF} \u{2060}").is_err());
        assert!(name("\u{3164}").is_err(), "a Hangul filler");
        assert!(name("\u{061C}\u{FE0F}\u{E0041}").is_err());
        assert_eq!(
            name("Zo\u{200D}ë").unwrap(),
            "Zo\u{200D}ë",
            "visible with a joiner"
        );
    }

    #[test]
    fn emails() {
        assert!(email("a@b.co").is_ok());
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@b.co.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(90))).is_err());
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(amount("0.3").unwrap().to_string(), "0.30");
        assert_eq!(amount("\"12.5\"").unwrap().to_string(), "12.50");
        assert_eq!(amount("99999999.99").unwrap().to_string(), "99999999.99");
        assert_eq!(amount("12.340").unwrap().to_string(), "12.34");
        assert_eq!(amount("0").unwrap().to_string(), "0.00");
        assert_eq!(
            amount("1e2").unwrap().to_string(),
            "100.00",
            "a JSON number"
        );
        assert_eq!(amount("\" 12.3 \"").unwrap().to_string(), "12.30");
        for bad in [
            "\"1e2\"",
            "\"12.\"",
            "\".5\"",
            "\"+1\"",
            "\"1_000\"",
            "12.345",
            "-1",
            "100000000",
            "\"abc\"",
            "true",
            "null",
            "\"\"",
        ] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }
}
