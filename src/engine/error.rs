//! Errors returned by engine commands. Protocol failures of the peer are
//! not errors of a command: they close the connection and arrive as events.

use thiserror::Error;

use crate::codec::DecodeError;

/// Why an engine command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The session, link or delivery ID no longer names a live entity.
    #[error("the {0} no longer exists")]
    Stale(&'static str),
    /// The command does not fit the entity's state.
    #[error("{0}")]
    WrongState(&'static str),
    /// A sender has no credit for another delivery.
    #[error("the link has no credit")]
    NoCredit,
    /// The output buffer holds more than the configured limit; write it out
    /// first.
    #[error("output buffer full ({0} bytes pending)")]
    OutputFull(usize),
    /// An argument is out of range (a delivery tag over 32 bytes, a handle
    /// beyond handle-max, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// Encoded data could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Shorthand for engine results.
pub type Result<T> = std::result::Result<T, Error>;
