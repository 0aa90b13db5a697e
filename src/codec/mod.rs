//! The AMQP 1.0 type system and wire format.
//!
//! Invariants: nothing here panics on any input, recurses deeper than
//! [`decode::MAX_DEPTH`], or allocates more than its input can justify;
//! every failure is a [`DecodeError`] naming what was wrong and where.
//! No I/O, no clock, no callbacks.
#![forbid(unsafe_code)]

pub mod composite;
pub mod decode;
pub mod encode;
pub mod error;
pub mod frame;
pub mod message;
pub mod messaging;
pub mod sections;
pub mod security;
pub mod transactions;
pub mod transport;
pub mod value;

pub use composite::{Binary, Decode, DeliveryTag, Encode, Map, Symbol, Symbols, Timestamp};
pub use decode::Decoder;
pub use encode::{encode_value, encoded_len};
pub use error::{DecodeError, DecodeErrorKind, DecodeResult};
pub use value::{Array, Descriptor, TypeKind, Value};
