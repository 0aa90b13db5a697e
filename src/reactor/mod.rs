//! The event loop: mio sockets, listeners, timers, reconnect, cross-thread
//! wake-ups and the frame trace, pumping bytes between sockets and engines.
//!
//! Invariants:
//! - One `mio::Poll` per [`Loop`]; a token carries a slot index and a
//!   generation, so readiness for a closed socket never reaches a reused
//!   slot, and readiness for a slot with no socket is dropped.
//! - Sockets are non-blocking and readiness is edge-triggered: reads drain
//!   until `WouldBlock` (retrying on `Interrupted`). WRITABLE interest is
//!   registered only while an engine has output the socket did not take
//!   (and while a connect is in progress).
//! - Each engine's whole pending output (many frames) goes out in one
//!   `write` call, not one per frame.
//! - The clock is read here and handed to engines; engines never read it.
//! - When a transport is lost, every link and session of the connection
//!   has its final event before [`LoopEvent::Disconnected`]; a reconnect
//!   makes a new engine, so link IDs from before it are stale.
//! - A loop and everything in it belong to one thread; only the
//!   [`LoopWaker`] crosses threads.
//! - Nothing here calls back into the application: the loop queues
//!   [`LoopEvent`]s (and trace lines) for the layer above to hand out.

mod address;
mod embed;
mod event_loop;
mod io;
mod slab;
mod tls;
mod trace;

pub use address::Address;
pub use event_loop::{
    Binder, ConnId, ConnectOptions, ListenerId, Loop, LoopEvent, LoopWaker, ReconnectPolicy,
    TimerId,
};
pub use slab::Slab;
pub use tls::{TlsClientSettings, TlsServerSettings, parse_certs, parse_key, subject_identity};
pub use trace::tidy;

use thiserror::Error;

/// Errors of the event loop.
#[derive(Debug, Error)]
pub enum Error {
    /// An I/O call failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A URL could not be parsed.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// A host name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// The connection, listener or timer no longer exists.
    #[error("the {0} no longer exists")]
    Stale(&'static str),
    /// TLS settings that cannot be used (a bad certificate, key or CA).
    #[error("TLS: {0}")]
    Tls(String),
    /// An engine command failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
}
