//! Decode errors: every way a byte sequence can fail to be AMQP, with the
//! offset at which the problem was found.

use thiserror::Error;

/// A failure to decode AMQP bytes, with the offset (from the start of the
/// buffer handed to the decoder) where it was detected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at offset {offset}")]
pub struct DecodeError {
    /// Byte offset of the constructor or field at fault.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// An error of `kind` found at `offset`.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError { offset, kind }
    }
}

/// What was wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// The input ends before the value does.
    #[error("input truncated: {needed} more bytes needed")]
    Truncated {
        /// How many more bytes the value needs at least.
        needed: usize,
    },
    /// A length or size field points past the end of the input.
    #[error("length {length} runs past the end of the input ({available} bytes left)")]
    LengthPastEnd {
        /// The declared length.
        length: usize,
        /// Bytes actually left.
        available: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A symbol holds a byte outside ASCII.
    #[error("symbol holds the non-ASCII byte 0x{0:02x}")]
    NonAsciiSymbol(u8),
    /// A char is not a Unicode scalar value.
    #[error("char 0x{0:x} is not a Unicode scalar value")]
    InvalidChar(u32),
    /// A format code that AMQP 1.0 does not define.
    #[error("unknown format code 0x{0:02x}")]
    UnknownFormatCode(u8),
    /// A map with an odd number of elements.
    #[error("map holds an odd number of elements ({0})")]
    OddMapCount(u32),
    /// An array element does not fit the array's constructor (it runs past
    /// the array's declared size, or is not a valid value of that type).
    #[error("array element {index} does not match its constructor 0x{code:02x}")]
    ArrayElement {
        /// Index of the element at fault.
        index: u32,
        /// The array's element format code.
        code: u8,
    },
    /// A compound's declared size disagrees with what its elements occupy.
    #[error("compound declares {declared} bytes but its elements occupy {actual}")]
    SizeMismatch {
        /// Size from the encoding.
        declared: usize,
        /// Bytes the elements used.
        actual: usize,
    },
    /// A count larger than the bytes that follow could possibly hold.
    #[error("element count {count} is more than {available} bytes can hold")]
    CountTooLarge {
        /// Declared element count.
        count: u64,
        /// Bytes available for the elements.
        available: usize,
    },
    /// Values nested deeper than the decoder allows.
    #[error("values nested deeper than {0} levels")]
    TooDeep(usize),
    /// A descriptor that is neither a ulong nor a symbol.
    #[error("descriptor is neither a ulong nor a symbol")]
    InvalidDescriptor,
    /// A described type this decoder does not know in this position.
    #[error("unexpected descriptor {0}")]
    UnknownDescriptor(String),
    /// A value of the wrong type for the field or position.
    #[error("expected {expected}, found format code 0x{found:02x}")]
    UnexpectedType {
        /// The type that was expected.
        expected: &'static str,
        /// The format code found.
        found: u8,
    },
    /// A mandatory field of a composite is absent or null.
    #[error("mandatory field {field} of {composite} is missing")]
    MissingField {
        /// The composite type (its AMQP name).
        composite: &'static str,
        /// The field (its AMQP name).
        field: &'static str,
    },
    /// A field holds a value outside its restricted type's choices.
    #[error("invalid value {value} for {field}")]
    InvalidField {
        /// The field or restricted type.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// Bytes left over where one value was expected to fill the input.
    #[error("{0} bytes left after the value")]
    TrailingBytes(usize),
}

/// Shorthand for decoder results.
pub type DecodeResult<T> = Result<T, DecodeError>;
