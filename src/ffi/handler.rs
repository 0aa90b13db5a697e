//! `muon_handler`: a table of optional callbacks, one per event, named as
//! the tutorial names its events.

use std::ffi::c_void;

use super::event::muon_event;

/// A callback: `userdata` is what was registered with the handler table;
/// `event` is borrowed for the call.
pub type muon_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const muon_event)>;

/// Frees a handler's userdata: called exactly once, after the final event
/// of the object the handler was registered on (or when the loop is freed,
/// for the loop's default handler).
pub type muon_userdata_free = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A table of callbacks. Start from `MUON_HANDLER_INIT` (which sets
/// `struct_size` and leaves every callback NULL) and assign the ones you
/// want; NULL means "not interested". Passed by const pointer and copied at
/// registration; the library reads only `struct_size` bytes, so a program
/// built against an older header keeps working.
///
/// An event goes to the most specific table that implements it: a link's,
/// else its connection's (or listener's, for accepted connections), else
/// the loop's default handler.
///
/// Callbacks run only inside `muon_loop_run` / `muon_loop_run_once`. They
/// may call any function on handles of the same loop except
/// `muon_loop_run*` (which return `MUON_RESULT_REENTRANT`) and
/// `muon_loop_free` (which does nothing there). C++ callers must not let
/// exceptions escape a callback, and C callers must not `longjmp` out of
/// one.
///
/// Functions: `muon_loop_set_handler`, `muon_loop_connect`,
/// `muon_loop_listen`, `muon_loop_schedule`,
/// `muon_connection_open_sender`, `muon_connection_open_receiver`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct muon_handler {
    /// `sizeof(muon_handler)` as the caller knew it (`MUON_HANDLER_INIT`
    /// sets it).
    pub struct_size: usize,
    /// The peer opened the connection (answered our open, or opened one we
    /// accepted).
    pub on_connection_remote_open: muon_callback,
    /// The peer closed the connection; `muon_event_condition` has its error.
    pub on_connection_remote_close: muon_callback,
    /// The peer began a session.
    pub on_session_remote_open: muon_callback,
    /// The peer ended a session.
    pub on_session_remote_close: muon_callback,
    /// The peer attached a new link, before it is opened here: set its
    /// local terminus (e.g. a dynamic address) now.
    pub on_link_remote_attach: muon_callback,
    /// The peer opened a link (answered ours, or one it attached).
    pub on_link_remote_open: muon_callback,
    /// The peer closed a link, or detached it without closing
    /// (`muon_sender_remote_closed` / `muon_receiver_remote_closed` say
    /// which); `muon_event_condition` has its error.
    pub on_link_remote_close: muon_callback,
    /// A sender has credit to send (and nothing left in its queue, see
    /// `muon_sender_send`), or a receiver's drain finished.
    pub on_link_flow: muon_callback,
    /// A message arrived; `muon_event_message` is borrowed for the call.
    pub on_message: muon_callback,
    /// The peer accepted a delivery we sent.
    pub on_accepted: muon_callback,
    /// The peer rejected a delivery we sent.
    pub on_rejected: muon_callback,
    /// The peer released a delivery we sent; or, with a condition
    /// (`muon:not-sent`, `amqp:link:message-size-exceeded`), muon hands back
    /// a message it held in the sender's queue and never sent
    /// (`muon_event_message` is the message; see `muon_sender_send`).
    pub on_released: muon_callback,
    /// The peer modified a delivery we sent.
    pub on_modified: muon_callback,
    /// A delivery was settled by the peer (and, with auto-settle on, here).
    /// Also for a receiver in rcv-settle-mode second: its sender settled a
    /// delivery this side gave an outcome (see
    /// `muon_link_options_set_rcv_settle_second`).
    pub on_settled: muon_callback,
    /// The connection's transport ended without a completed AMQP close:
    /// the one place that says why (`muon_event_condition`, never NULL):
    /// lost (`amqp:connection:forced`), refused, or failed by an error (a
    /// protocol error by the peer, a failed login, a TLS failure, an idle
    /// or handshake time-out: the condition names it). Called once per
    /// transport, also while the application was closing the connection
    /// (the close did not complete), never after `muon_connection_abort`.
    /// With the built-in reconnect on (and no close asked), a new attempt
    /// follows; else `on_connection_final`. A peer's AMQP close is
    /// `on_connection_remote_close` instead.
    pub on_disconnected: muon_callback,
    /// The built-in reconnect got a new transport for the connection.
    pub on_reconnected: muon_callback,
    /// A timer fired.
    pub on_timer: muon_callback,
    /// A listener is bound and accepting.
    pub on_listener_open: muon_callback,
    /// A listener accepted a connection (`muon_event_connection`).
    pub on_connection_accepted: muon_callback,
    /// `muon_loop_wake` was called (loop default handler only).
    pub on_wake: muon_callback,
    /// A link is gone; its handle is stale after this callback.
    pub on_link_final: muon_callback,
    /// A connection is gone; its handle is stale after this callback.
    pub on_connection_final: muon_callback,
    /// A listener is closed; its handle is stale after this callback.
    pub on_listener_final: muon_callback,
    /// Frees the userdata registered with this table, once, after the final
    /// event of its object. May be NULL.
    pub userdata_free: muon_userdata_free,
    /// A client is logging in to a listener whose options set
    /// `muon_connection_options_set_authenticate_callback`: read the
    /// request with `muon_connection_sasl_mechanism` and
    /// `muon_connection_sasl_request_*`, and answer before returning with
    /// `muon_connection_sasl_accept` (or, for SCRAM, with
    /// `muon_connection_sasl_scram_credentials`). A login left unanswered
    /// when the callback returns is refused.
    pub on_sasl_authenticate: muon_callback,
    /// A message arrived that could not be decoded (its bytes are not a
    /// valid AMQP message). muon has already rejected it with
    /// `amqp:decode-error`, so its sender learns of it; one the sender had
    /// settled is lost, and this is the only trace of it.
    /// `muon_event_condition` says what was wrong and whether the message
    /// was rejected or lost; `muon_event_receiver` is the link.
    pub on_message_error: muon_callback,
    /// A transaction this side declared is ready
    /// (`muon_event_transaction`): send and accept in it, then commit or
    /// roll it back.
    pub on_transaction_declared: muon_callback,
    /// A transaction was discharged as asked: committed
    /// (`muon_transaction_commit`) or rolled back
    /// (`muon_transaction_rollback`; `muon_event_transaction_rollback` says
    /// which). Its final event: the handle is stale after this callback.
    pub on_transaction_discharged: muon_callback,
    /// A transaction failed (its final event): the coordinator refused to
    /// declare it, or refused its discharge (a commit refused with
    /// `amqp:transaction:rollback` was rolled back; `amqp:transaction:
    /// unknown-id`, `amqp:transaction:timeout`), or the coordinator link or
    /// the connection ended first (its work is then rolled back by the
    /// coordinator). `muon_event_condition` says why.
    pub on_transaction_failed: muon_callback,
    /// Server side: a peer's controller asks to declare a transaction
    /// (`muon_event_delivery` is the request). Answer before returning,
    /// with `muon_delivery_declared` (naming the new transaction) or
    /// `muon_delivery_reject`; a request left unanswered is rejected. A
    /// listener's (or connection's) handler that implements this callback
    /// makes muon accept controllers' links (target `coordinator`); without
    /// it they are refused with `amqp:not-implemented`.
    pub on_coordinator_declare: muon_callback,
    /// Server side: a peer's controller asks to discharge the transaction
    /// `muon_event_transaction_id`: commit, or roll back when
    /// `muon_event_transaction_rollback` is true. Answer before returning
    /// with `muon_delivery_accept` (done) or `muon_delivery_reject` (e.g.
    /// `amqp:transaction:unknown-id`); a request left unanswered is
    /// rejected.
    pub on_coordinator_discharge: muon_callback,
}

impl muon_handler {
    /// A table with every callback NULL.
    pub(crate) fn empty() -> muon_handler {
        muon_handler {
            struct_size: std::mem::size_of::<muon_handler>(),
            on_connection_remote_open: None,
            on_connection_remote_close: None,
            on_session_remote_open: None,
            on_session_remote_close: None,
            on_link_remote_attach: None,
            on_link_remote_open: None,
            on_link_remote_close: None,
            on_link_flow: None,
            on_message: None,
            on_accepted: None,
            on_rejected: None,
            on_released: None,
            on_modified: None,
            on_settled: None,
            on_disconnected: None,
            on_reconnected: None,
            on_timer: None,
            on_listener_open: None,
            on_connection_accepted: None,
            on_wake: None,
            on_link_final: None,
            on_connection_final: None,
            on_listener_final: None,
            on_sasl_authenticate: None,
            on_message_error: None,
            on_transaction_declared: None,
            on_transaction_discharged: None,
            on_transaction_failed: None,
            on_coordinator_declare: None,
            on_coordinator_discharge: None,
            userdata_free: None,
        }
    }

    /// Copies the caller's table, reading only the `struct_size` bytes it
    /// declares (an older, shorter table leaves the newer callbacks NULL).
    ///
    /// # Safety
    /// `p` is NULL or points to at least `(*p).struct_size` readable bytes
    /// laid out as a `muon_handler` prefix.
    pub(crate) unsafe fn copy_from(p: *const muon_handler) -> Option<muon_handler> {
        if p.is_null() {
            return None;
        }
        let mut h = muon_handler::empty();
        // SAFETY: `p` is non-NULL and, as the caller promises, starts with
        // a readable `size_t struct_size`.
        let declared = unsafe { std::ptr::addr_of!((*p).struct_size).read_unaligned() };
        let n = declared.min(std::mem::size_of::<muon_handler>());
        // SAFETY: the caller promises `declared` readable bytes at `p`; we
        // copy at most that many into a table of our own size. Every field
        // is a nullable function pointer or an integer, so any bytes the
        // caller wrote are a valid value (zero is NULL).
        unsafe {
            std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut h).cast::<u8>(), n);
        }
        h.struct_size = std::mem::size_of::<muon_handler>();
        Some(h)
    }
}

/// A handler table with the userdata it was registered with.
#[derive(Clone, Copy)]
pub(crate) struct Registered {
    pub handler: muon_handler,
    pub userdata: *mut c_void,
}

impl Registered {
    /// # Safety
    /// As [`muon_handler::copy_from`].
    pub(crate) unsafe fn new(p: *const muon_handler, userdata: *mut c_void) -> Option<Registered> {
        // SAFETY: forwarded to the caller.
        unsafe { muon_handler::copy_from(p) }.map(|handler| Registered { handler, userdata })
    }

    /// Calls `userdata_free` if set.
    pub(crate) fn free_userdata(&self) {
        if let Some(f) = self.handler.userdata_free {
            // SAFETY: the application registered this function for this
            // userdata and asked for exactly one call after the final event.
            unsafe { f(self.userdata) };
        }
    }
}
