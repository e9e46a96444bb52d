//! Checked input values and the field errors that explain a refusal.

use serde::Serialize;
use utoipa::ToSchema;
use validator::ValidateEmail;

/// One reason an input was refused, tied to the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The JSON path or parameter name of the refused value.
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

impl FieldError {
    /// An error whose field is filled in by [`Checks::check`].
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            field: String::new(),
            message: message.into(),
        }
    }

    /// The same error, at `field`.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// Collects every field error of one request, so a client learns them all at once.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// An empty set of checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result`, if any, under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e.at(field))).ok()
    }

    /// Records an optional value's error; an absent value passes as `Some(None)`.
    pub fn check_opt<T>(
        &mut self,
        field: &str,
        value: Option<Result<T, FieldError>>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(result) => self.check(field, result).map(Some),
        }
    }

    /// Records the error of a patch field: absent (`None`) passes as `Some(None)`, an
    /// explicit `null` as `Some(Some(None))`, a value is checked.
    pub fn check_patch<T>(
        &mut self,
        field: &str,
        value: Option<Option<Result<T, FieldError>>>,
    ) -> Option<Option<Option<T>>> {
        match value {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(result)) => self.check(field, result).map(|v| Some(Some(v))),
        }
    }

    /// Records errors found by other code (already carrying their field).
    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.errors.extend(errors);
    }

    /// Fails with every recorded error, or builds the checked value.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        build().ok_or_else(|| vec![FieldError::new("invalid value").at("body")])
    }
}

/// Free text such as a name: trimmed, 1 to `max` characters, no control characters.
pub fn text(value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new("must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A handle chosen by the tenant (organization code, user external id): 1 to `max`
/// visible ASCII characters, no spaces.
pub fn handle(value: &str, max: usize) -> Result<String, FieldError> {
    if value.is_empty() {
        return Err(FieldError::new("must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(format!("must be at most {max} characters")));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            "must be visible ASCII characters without spaces",
        ));
    }
    Ok(value.to_owned())
}

/// An email address, checked for shape (not for deliverability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts an address of at most 254 characters; the domain is lowercased.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if value.len() > 254 {
            return Err(FieldError::new("must be at most 254 characters"));
        }
        if !value.validate_email() {
            return Err(FieldError::new("must be a valid email address"));
        }
        let (local, domain) = value
            .rsplit_once('@')
            .ok_or_else(|| FieldError::new("must be a valid email address"))?;
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+` and up to 15 digits), checked against the
/// numbering plan of its country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Accepts only the canonical E.164 spelling of a valid number.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let err =
            || FieldError::new("must be a valid phone number in E.164 form, e.g. +14155550123");
        let digits = value.strip_prefix('+').ok_or_else(err)?;
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let number = phonenumber::parse(None, value).map_err(|_| err())?;
        if !phonenumber::is_valid(&number) {
            return Err(err());
        }
        let canonical = number.format().mode(phonenumber::Mode::E164).to_string();
        if canonical != value {
            return Err(err());
        }
        Ok(Self(canonical))
    }

    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("Ada@Example.COM").unwrap().as_str(),
            "Ada@example.com"
        );
        for bad in ["", "ada", "ada@", "@example.com", "a b@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn phones() {
        assert_eq!(
            PhoneE164::parse("+14155552671").unwrap().as_str(),
            "+14155552671"
        );
        assert!(PhoneE164::parse("+447911123456").is_ok());
        for bad in [
            "",
            "4155552671",
            "+1 415 555 2671",
            "+1415555267",
            "+0000",
            "+1234567890123456",
            "+١٤١٥٥٥٥٢٦٧١",
        ] {
            assert!(PhoneE164::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_and_handles() {
        assert_eq!(text("  Acme  ", 10).unwrap(), "Acme");
        assert!(text("   ", 10).is_err());
        assert!(text("abcdefghijk", 10).is_err());
        assert!(text("a\u{0}b", 10).is_err());
        assert_eq!(handle("acme-1", 10).unwrap(), "acme-1");
        assert!(handle("", 10).is_err());
        assert!(handle("a b", 10).is_err());
        assert!(handle("é", 10).is_err());
    }

    #[test]
    fn checks_collect_every_error() {
        let mut checks = Checks::new();
        let a = checks.check("name", text("", 5));
        let b = checks.check("email", Email::parse("nope"));
        let c = checks.check_opt("phone", None::<Result<PhoneE164, FieldError>>);
        assert!(a.is_none() && b.is_none() && c == Some(None));
        let errors = checks.finish(|| Some(())).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email"]);
    }
}
