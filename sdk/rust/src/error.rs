//! The error a function returns: a message for people and an optional,
//! machine-readable kind, reported to the host through `sluice_error`.

use std::fmt;

/// An error returned by [`Function::execute`](crate::Function::execute) or a
/// constructor.
///
/// The kind is a short identifier that tests and pipelines can match on
/// (`invalid_input`, `invalid_config`...); the message says what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Option<String>,
    message: String,
}

impl Error {
    /// An error with a message and no kind.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            kind: None,
            message: message.into(),
        }
    }

    /// An error with a machine-readable kind and a message.
    pub fn with_kind(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: Some(kind.into()),
            message: message.into(),
        }
    }

    /// The kind, if the error has one.
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(kind) => write!(f, "{}: {}", kind, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// A JSON error met by the function's own code (for instance while reading a
/// nested document) has the kind `json`.
impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::with_kind("json", err.to_string())
    }
}

/// Lets `?` turn a `serde_json::Error` into the `Box<Error>` that
/// [`Function::execute`](crate::Function::execute) returns.
impl From<serde_json::Error> for Box<Error> {
    fn from(err: serde_json::Error) -> Self {
        Box::new(Error::from(err))
    }
}
