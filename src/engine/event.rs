//! Events: what the engine tells the layer above, as plain data.

use super::{DeliveryId, LinkId, SessionId};
use crate::codec::transport::AmqpError;

/// Something that happened on a connection. Entities are named by ID; their
/// details are read from the [`Connection`](super::Connection).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The peer's `open` arrived.
    ConnectionRemoteOpen,
    /// The peer's `close` arrived (with its error, if any; also readable
    /// through `remote_condition`).
    ConnectionRemoteClose,
    /// A SASL server needs the application to accept or refuse a login
    /// (only when the authenticator is [`Authenticator::Application`](super::Authenticator)).
    /// Read the request with `sasl_request`, answer with `sasl_complete`.
    SaslAuthenticate,
    /// SASL finished successfully (client and server).
    SaslDone,
    /// The peer's `begin` arrived: for a session we began, its answer; for a
    /// new one, a request the application answers with `session_open`.
    SessionRemoteOpen(SessionId),
    /// The peer's `end` arrived.
    SessionRemoteClose(SessionId),
    /// The session is gone on both sides; its ID is released after this.
    SessionFinal(SessionId),
    /// The peer's `attach` arrived: for a link we attached, its answer; for a
    /// new one, a request the application answers with `link_open` (after
    /// choosing the local termini, e.g. the address of a dynamic node).
    LinkRemoteOpen(LinkId),
    /// The peer's `detach` arrived.
    LinkRemoteClose(LinkId),
    /// The link is gone on both sides; its ID is released after this.
    LinkFinal(LinkId),
    /// Link credit or drain changed: a sender may send, or a receiver's
    /// drain finished.
    LinkFlow(LinkId),
    /// A whole message arrived on a receiving link.
    Delivery(DeliveryId),
    /// The peer changed the state or settlement of a delivery.
    DeliveryUpdated(DeliveryId),
    /// The connection failed: a protocol violation by the peer, a failed
    /// login, an idle timeout or a lost transport. The engine closes after.
    TransportError(AmqpError),
    /// Nothing more will be read or written; the transport can be shut.
    TransportClosed,
}
