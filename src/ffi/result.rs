//! `muon_result`: the one error type of the C API.
//!
//! Codes are grouped in ranges of one hundred so that a new code joins its
//! group without renumbering anything. A number, once released, is never
//! reused or given another meaning.

use std::ffi::{c_char, c_int};

use crate::codec::{DecodeError, DecodeErrorKind};

/// The result of every fallible muon function. `MUON_RESULT_OK` is zero;
/// every other value is an error, grouped by range: 100-199 a bad argument,
/// 200-299 an object in the wrong state, 300-399 network and OS errors,
/// 400-499 bad bytes or a protocol failure, 900 a bug caught at the API
/// boundary. The numbers are stable across releases.
///
/// Turn a code into text with `muon_result_name` and `muon_result_message`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_result {
    /// Success.
    Ok = 0,

    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 100,
    /// An argument is outside what the function accepts (an unknown type
    /// code, a non-ASCII symbol, a value passed as its own container).
    InvalidArgument = 101,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 102,
    /// The caller's buffer is too small for the result.
    BufferTooSmall = 103,
    /// The value is not of the type the function needs.
    WrongType = 104,
    /// An index or number is out of the range the function accepts.
    OutOfRange = 105,
    /// What was asked for by key is not there (e.g. an application
    /// property `muon_message_get_property_long` looks up).
    NotFound = 106,

    /// The object is not in a state that allows this call.
    WrongState = 200,
    /// The call is not allowed from inside a callback of the same loop.
    Reentrant = 201,
    /// The object is closed.
    Closed = 202,
    /// The handle refers to an object that no longer exists.
    StaleHandle = 203,
    /// The call was made from a thread that does not own the loop.
    WrongThread = 204,
    /// The link has no credit to send (and holds no queue: see
    /// `muon_link_options_set_max_queued`).
    NoCredit = 205,
    /// The sender's queue of messages waiting for credit is full (see
    /// `muon_link_options_set_max_queued`): nothing was sent or queued.
    QueueFull = 206,

    /// An operating-system I/O error.
    IoError = 300,
    /// The peer refused the connection.
    ConnectionRefused = 301,
    /// The operation timed out.
    TimedOut = 302,
    /// The address to listen on is already in use.
    AddressInUse = 303,
    /// The host name could not be resolved.
    ResolveFailed = 304,

    /// The bytes are not a valid AMQP encoding of what was expected.
    DecodeError = 400,
    /// The peer broke the AMQP protocol.
    ProtocolError = 401,
    /// SASL authentication failed.
    AuthenticationFailed = 402,
    /// The peer closed the connection or link.
    RemoteClosed = 403,

    /// A bug inside muon was caught at the API boundary: the call did not
    /// complete. Please report it.
    Panic = 900,
}

impl muon_result {
    /// Every code, for lookups by number.
    const ALL: [muon_result; 25] = [
        muon_result::Ok,
        muon_result::NullArgument,
        muon_result::InvalidArgument,
        muon_result::InvalidUtf8,
        muon_result::BufferTooSmall,
        muon_result::WrongType,
        muon_result::OutOfRange,
        muon_result::NotFound,
        muon_result::WrongState,
        muon_result::Reentrant,
        muon_result::Closed,
        muon_result::StaleHandle,
        muon_result::WrongThread,
        muon_result::NoCredit,
        muon_result::QueueFull,
        muon_result::IoError,
        muon_result::ConnectionRefused,
        muon_result::TimedOut,
        muon_result::AddressInUse,
        muon_result::ResolveFailed,
        muon_result::DecodeError,
        muon_result::ProtocolError,
        muon_result::AuthenticationFailed,
        muon_result::RemoteClosed,
        muon_result::Panic,
    ];

    /// The code with number `n`, if there is one. Numbers come from C,
    /// where any `int` can arrive, so this never transmutes.
    fn from_code(n: muon_result_arg) -> Option<muon_result> {
        Self::ALL.into_iter().find(|r| *r as muon_result_arg == n)
    }

    /// The constant's name and a one-line description, NUL-terminated.
    fn text(self) -> (&'static [u8], &'static [u8]) {
        match self {
            muon_result::Ok => (b"MUON_RESULT_OK\0", b"success\0"),
            muon_result::NullArgument => (
                b"MUON_RESULT_NULL_ARGUMENT\0",
                b"a required pointer argument was NULL\0",
            ),
            muon_result::InvalidArgument => (
                b"MUON_RESULT_INVALID_ARGUMENT\0",
                b"an argument is not one the function accepts\0",
            ),
            muon_result::InvalidUtf8 => (
                b"MUON_RESULT_INVALID_UTF8\0",
                b"a string argument is not valid UTF-8\0",
            ),
            muon_result::BufferTooSmall => (
                b"MUON_RESULT_BUFFER_TOO_SMALL\0",
                b"the buffer is too small for the result\0",
            ),
            muon_result::WrongType => (
                b"MUON_RESULT_WRONG_TYPE\0",
                b"the value is not of the type required\0",
            ),
            muon_result::OutOfRange => (
                b"MUON_RESULT_OUT_OF_RANGE\0",
                b"an index or number is out of range\0",
            ),
            muon_result::NotFound => (
                b"MUON_RESULT_NOT_FOUND\0",
                b"nothing is there under that key\0",
            ),
            muon_result::WrongState => (
                b"MUON_RESULT_WRONG_STATE\0",
                b"the object is not in a state that allows this call\0",
            ),
            muon_result::Reentrant => (
                b"MUON_RESULT_REENTRANT\0",
                b"the call is not allowed from inside a callback\0",
            ),
            muon_result::Closed => (b"MUON_RESULT_CLOSED\0", b"the object is closed\0"),
            muon_result::StaleHandle => (
                b"MUON_RESULT_STALE_HANDLE\0",
                b"the handle refers to an object that no longer exists\0",
            ),
            muon_result::WrongThread => (
                b"MUON_RESULT_WRONG_THREAD\0",
                b"the call was made from a thread that does not own the loop\0",
            ),
            muon_result::NoCredit => (
                b"MUON_RESULT_NO_CREDIT\0",
                b"the link has no credit to send\0",
            ),
            muon_result::QueueFull => (
                b"MUON_RESULT_QUEUE_FULL\0",
                b"the sender's queue of messages waiting for credit is full\0",
            ),
            muon_result::IoError => (b"MUON_RESULT_IO_ERROR\0", b"an I/O error occurred\0"),
            muon_result::ConnectionRefused => (
                b"MUON_RESULT_CONNECTION_REFUSED\0",
                b"the peer refused the connection\0",
            ),
            muon_result::TimedOut => (b"MUON_RESULT_TIMED_OUT\0", b"the operation timed out\0"),
            muon_result::AddressInUse => (
                b"MUON_RESULT_ADDRESS_IN_USE\0",
                b"the address is already in use\0",
            ),
            muon_result::ResolveFailed => (
                b"MUON_RESULT_RESOLVE_FAILED\0",
                b"the host name could not be resolved\0",
            ),
            muon_result::DecodeError => (
                b"MUON_RESULT_DECODE_ERROR\0",
                b"the bytes are not a valid AMQP encoding\0",
            ),
            muon_result::ProtocolError => (
                b"MUON_RESULT_PROTOCOL_ERROR\0",
                b"the peer broke the AMQP protocol\0",
            ),
            muon_result::AuthenticationFailed => (
                b"MUON_RESULT_AUTHENTICATION_FAILED\0",
                b"authentication failed\0",
            ),
            muon_result::RemoteClosed => (
                b"MUON_RESULT_REMOTE_CLOSED\0",
                b"the peer closed the connection or link\0",
            ),
            muon_result::Panic => (
                b"MUON_RESULT_PANIC\0",
                b"an internal error was caught at the API boundary\0",
            ),
        }
    }
}

impl From<DecodeError> for muon_result {
    /// Bad input bytes are a decode error whatever their fault. The match
    /// names every kind so that a new one forces a decision here.
    fn from(e: DecodeError) -> Self {
        match e.kind {
            DecodeErrorKind::Truncated { .. }
            | DecodeErrorKind::LengthPastEnd { .. }
            | DecodeErrorKind::InvalidUtf8
            | DecodeErrorKind::NonAsciiSymbol(_)
            | DecodeErrorKind::InvalidChar(_)
            | DecodeErrorKind::UnknownFormatCode(_)
            | DecodeErrorKind::OddMapCount(_)
            | DecodeErrorKind::ArrayElement { .. }
            | DecodeErrorKind::SizeMismatch { .. }
            | DecodeErrorKind::CountTooLarge { .. }
            | DecodeErrorKind::TooDeep(_)
            | DecodeErrorKind::InvalidDescriptor
            | DecodeErrorKind::UnknownDescriptor(_)
            | DecodeErrorKind::UnexpectedType { .. }
            | DecodeErrorKind::MissingField { .. }
            | DecodeErrorKind::InvalidField { .. }
            | DecodeErrorKind::TrailingBytes(_) => muon_result::DecodeError,
        }
    }
}

/// A `muon_result` as C passes it: the header declares the parameter as
/// `enum muon_result`, and Rust takes the enum's underlying integer, so
/// that a number that is no code is looked up, never transmuted (see
/// `cbindgen.toml`, which renames this alias).
pub type muon_result_arg = c_int;

const UNKNOWN_NAME: &[u8] = b"MUON_RESULT_UNKNOWN\0";
const UNKNOWN_MESSAGE: &[u8] = b"unknown result code\0";

/// The name of result code `code` as it is spelled in this header, such as
/// `"MUON_RESULT_NULL_ARGUMENT"`, or `"MUON_RESULT_UNKNOWN"` for a number
/// that is not a code.
///
/// The code is taken as a plain `int`, so any number is safe to pass.
/// The returned string is static: never free it.
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// None: any `code` is accepted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_result_name(code: muon_result_arg) -> *const c_char {
    crate::ffi::boundary::boundary!(UNKNOWN_NAME.as_ptr().cast(), {
        let text = muon_result::from_code(code).map_or(UNKNOWN_NAME, |r| r.text().0);
        text.as_ptr().cast()
    })
}

/// A one-line English description of result code `code`, such as
/// `"a required pointer argument was NULL"`, or `"unknown result code"`
/// for a number that is not a code.
///
/// The code is taken as a plain `int`, so any number is safe to pass.
/// The returned string is static: never free it.
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// None: any `code` is accepted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_result_message(code: muon_result_arg) -> *const c_char {
    crate::ffi::boundary::boundary!(UNKNOWN_MESSAGE.as_ptr().cast(), {
        let text = muon_result::from_code(code).map_or(UNKNOWN_MESSAGE, |r| r.text().1);
        text.as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_matching_name() {
        for r in muon_result::ALL {
            let (name, message) = r.text();
            assert_eq!(name.last(), Some(&0));
            assert_eq!(message.last(), Some(&0));
            assert_eq!(muon_result::from_code(r as muon_result_arg), Some(r));
            assert!(name.starts_with(b"MUON_RESULT_"));
        }
        assert_eq!(muon_result::from_code(-1), None);
        assert_eq!(muon_result::from_code(99), None);
    }
}
