//! The one error type of the codec.

use std::fmt;

/// What went wrong; one kind per row of the Errors table of `docs/profiles.md`.
///
/// `index` is the position of the offending event in the batch (`None` for
/// errors in the profile name or the options); `message` says what is wrong
/// without the index, which `Display` prefixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The profile name is not one of [`crate::Profile::ALL`].
    #[error("{}", Located(index, message))]
    UnknownProfile {
        index: Option<usize>,
        message: String,
    },
    /// A render option is invalid (unknown time zone, ...).
    #[error("{}", Located(index, message))]
    InvalidOption {
        index: Option<usize>,
        message: String,
    },
    /// The bytes are not a canonical `Event` (truncated, wrong wire type, invalid
    /// UTF-8 in a string, a timestamp out of range).
    #[error("{}", Located(index, message))]
    Decode {
        index: Option<usize>,
        message: String,
    },
    /// `input`/`output` that the profile embeds or reads is not valid JSON.
    #[error("{}", Located(index, message))]
    InvalidJson {
        index: Option<usize>,
        message: String,
    },
    /// The profile does not render this event type (or the type is unknown).
    #[error("{}", Located(index, message))]
    UnsupportedEvent {
        index: Option<usize>,
        message: String,
    },
    /// The event is larger than `max_event_bytes`.
    #[error("{}", Located(index, message))]
    TooLarge {
        index: Option<usize>,
        message: String,
    },
}

struct Located<'a>(&'a Option<usize>, &'a String);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(i) => write!(f, "event {i}: {}", self.1),
            None => f.write_str(self.1),
        }
    }
}

/// The kind of a [`CodecError`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    UnknownProfile,
    InvalidOption,
    Decode,
    InvalidJson,
    UnsupportedEvent,
    TooLarge,
}

impl CodecError {
    /// Builds an error of `kind`.
    pub fn new(kind: ErrorKind, index: Option<usize>, message: impl Into<String>) -> Self {
        let message = message.into();
        match kind {
            ErrorKind::UnknownProfile => CodecError::UnknownProfile { index, message },
            ErrorKind::InvalidOption => CodecError::InvalidOption { index, message },
            ErrorKind::Decode => CodecError::Decode { index, message },
            ErrorKind::InvalidJson => CodecError::InvalidJson { index, message },
            ErrorKind::UnsupportedEvent => CodecError::UnsupportedEvent { index, message },
            ErrorKind::TooLarge => CodecError::TooLarge { index, message },
        }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CodecError::UnknownProfile { .. } => ErrorKind::UnknownProfile,
            CodecError::InvalidOption { .. } => ErrorKind::InvalidOption,
            CodecError::Decode { .. } => ErrorKind::Decode,
            CodecError::InvalidJson { .. } => ErrorKind::InvalidJson,
            CodecError::UnsupportedEvent { .. } => ErrorKind::UnsupportedEvent,
            CodecError::TooLarge { .. } => ErrorKind::TooLarge,
        }
    }

    /// The position of the offending event in the batch, `None` for option errors.
    pub fn index(&self) -> Option<usize> {
        match self {
            CodecError::UnknownProfile { index, .. }
            | CodecError::InvalidOption { index, .. }
            | CodecError::Decode { index, .. }
            | CodecError::InvalidJson { index, .. }
            | CodecError::UnsupportedEvent { index, .. }
            | CodecError::TooLarge { index, .. } => *index,
        }
    }

    /// What is wrong, without the event index.
    pub fn message(&self) -> &str {
        match self {
            CodecError::UnknownProfile { message, .. }
            | CodecError::InvalidOption { message, .. }
            | CodecError::Decode { message, .. }
            | CodecError::InvalidJson { message, .. }
            | CodecError::UnsupportedEvent { message, .. }
            | CodecError::TooLarge { message, .. } => message,
        }
    }
}
