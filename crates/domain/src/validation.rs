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
