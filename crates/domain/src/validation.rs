//! Validation errors that name the offending field, so an API caller or CLI
//! user learns exactly what to fix.

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `lines[2].quantity`.
    pub field: String,
    pub message: String,
}

/// A request was well-formed but its content breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("validation failed: {}", summary(.0))]
pub struct ValidationError(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationError {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `Ok(())` when nothing was added, the error otherwise.
    pub fn into_result(self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Whether `c` may not appear in text we store: NUL and other control
/// characters (PostgreSQL refuses NUL outright, so accepting it on SQLite
/// would make the backends disagree), and the invisible formatting
/// characters — zero-width spaces and joiners, bidirectional embeddings,
/// overrides and isolates, the byte-order mark — that make two different
/// SKUs or names look alike on screen. Line breaks and tabs are allowed:
/// descriptions and reasons may have several lines.
pub fn forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(
            c,
            '\u{00AD}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// The one check every stored name, reason, id and SKU goes through: adds an
/// error naming `field` when `value` holds a [`forbidden_char`]. Returns
/// whether the text was clean.
pub fn check_text(errors: &mut ValidationError, field: &str, value: &str) -> bool {
    if value.chars().any(forbidden_char) {
        errors.add(
            field,
            "must not contain NUL, control or invisible formatting characters \
             (zero-width, bidirectional overrides)",
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_invisible_characters_are_refused() {
        for bad in [
            "a\0b",
            "KAOS\u{200B}-M",
            "\u{202E}M-SOAK",
            "x\u{2066}y",
            "\u{FEFF}bom",
            "z\u{200D}j",
        ] {
            let mut e = ValidationError::new();
            assert!(!check_text(&mut e, "name", bad), "{bad:?}");
            assert_eq!(e.0[0].field, "name");
        }
        let mut e = ValidationError::new();
        assert!(check_text(
            &mut e,
            "name",
            "Kaos Polos – Merah\nline two\tok é 日本"
        ));
        assert!(e.0.is_empty());
    }
}
