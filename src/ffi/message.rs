//! Placeholder until the message API lands: the opaque type only.
use super::boundary::Opaque;
use crate::codec::message::Message;

/// An AMQP message owned by the application.
pub struct muon_message {
    _private: [u8; 0],
}

impl Opaque for muon_message {
    type Inner = Message;
}
