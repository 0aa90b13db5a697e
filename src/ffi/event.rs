//! `muon_event` (what a callback is told) and `muon_condition` (an AMQP
//! error: name and description).

use std::ffi::{CString, c_char};

use super::boundary::{Opaque, boundary, view};
use super::event_loop::muon_loop;
use super::handle::{
    muon_connection, muon_delivery, muon_listener, muon_receiver, muon_sender, muon_timer,
};
use super::message::MessageBox;
use super::message::muon_message;
use crate::codec::transport::AmqpError;

/// What happened: the type of a `muon_event`. The numbers are stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_event_kind {
    /// Not an event (NULL event).
    None = 0,
    /// `on_connection_remote_open`
    ConnectionRemoteOpen = 1,
    /// `on_connection_remote_close`
    ConnectionRemoteClose = 2,
    /// `on_session_remote_open`
    SessionRemoteOpen = 3,
    /// `on_session_remote_close`
    SessionRemoteClose = 4,
    /// `on_link_remote_attach`
    LinkRemoteAttach = 5,
    /// `on_link_remote_open`
    LinkRemoteOpen = 6,
    /// `on_link_remote_close`
    LinkRemoteClose = 7,
    /// `on_link_flow`
    LinkFlow = 8,
    /// `on_message`
    Message = 9,
    /// `on_accepted`
    Accepted = 10,
    /// `on_rejected`
    Rejected = 11,
    /// `on_released`
    Released = 12,
    /// `on_modified`
    Modified = 13,
    /// `on_settled`
    Settled = 14,
    /// `on_disconnected`
    Disconnected = 15,
    /// `on_reconnected`
    Reconnected = 16,
    /// `on_timer`
    Timer = 17,
    /// `on_listener_open`
    ListenerOpen = 18,
    /// `on_connection_accepted`
    ConnectionAccepted = 19,
    /// `on_wake`
    Wake = 20,
    /// `on_link_final`
    LinkFinal = 21,
    /// `on_connection_final`
    ConnectionFinal = 22,
    /// `on_listener_final`
    ListenerFinal = 23,
    /// `on_transport_error`
    TransportError = 24,
}

/// An AMQP error condition: a symbolic name such as `amqp:not-found` and a
/// description.
///
/// Functions: `muon_condition_name`, `muon_condition_description`.
pub struct muon_condition {
    _private: [u8; 0],
}

/// The Rust side of a condition: NUL-terminated copies for C.
pub(crate) struct Condition {
    pub name: CString,
    pub description: CString,
}

impl Condition {
    pub(crate) fn from_error(e: &AmqpError) -> Condition {
        let clean = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        Condition {
            name: clean(e.condition.as_str()),
            description: clean(e.description.as_deref().unwrap_or("")),
        }
    }
}

impl Opaque for muon_condition {
    type Inner = Condition;
}

/// The event a callback is handed: borrowed for the callback's duration.
///
/// Functions: `muon_event_type`, `muon_event_loop`,
/// `muon_event_connection`, `muon_event_sender`, `muon_event_receiver`,
/// `muon_event_is_receiver`, `muon_event_delivery`, `muon_event_listener`,
/// `muon_event_timer`, `muon_event_message`, `muon_event_condition`.
pub struct muon_event {
    _private: [u8; 0],
}

pub(crate) struct EventData {
    pub kind: muon_event_kind,
    pub owner: *mut muon_loop,
    pub connection: muon_connection,
    pub sender: muon_sender,
    pub receiver: muon_receiver,
    pub delivery: muon_delivery,
    pub listener: muon_listener,
    pub timer: muon_timer,
    pub message: Option<MessageBox>,
    pub condition: Option<Condition>,
}

impl EventData {
    pub(crate) fn new(kind: muon_event_kind, owner: *mut muon_loop) -> EventData {
        EventData {
            kind,
            owner,
            connection: muon_connection::NULL,
            sender: muon_sender::NULL,
            receiver: muon_receiver::NULL,
            delivery: muon_delivery::NULL,
            listener: muon_listener::NULL,
            timer: muon_timer::NULL,
            message: None,
            condition: None,
        }
    }
}

impl Opaque for muon_event {
    type Inner = EventData;
}

fn event<'a>(ev: *const muon_event) -> Option<&'a EventData> {
    // SAFETY: a non-NULL `ev` is the event the loop handed to the running
    // callback (a live `EventData`), as every accessor's contract says.
    unsafe { ev.cast::<EventData>().as_ref() }
}

/// The event's type (`MUON_EVENT_KIND_NONE` for NULL).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_type(event: *const muon_event) -> muon_event_kind {
    boundary!(muon_event_kind::None, {
        match self::event(event) {
            Some(e) => e.kind,
            None => muon_event_kind::None,
        }
    })
}

/// The loop the event comes from (NULL for NULL).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_loop(event: *const muon_event) -> *mut muon_loop {
    boundary!(std::ptr::null_mut(), {
        match self::event(event) {
            Some(e) => e.owner,
            None => std::ptr::null_mut(),
        }
    })
}

/// The connection the event concerns (the null handle if none).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_connection(event: *const muon_event) -> muon_connection {
    boundary!(muon_connection::NULL, {
        match self::event(event) {
            Some(e) => e.connection,
            None => muon_connection::NULL,
        }
    })
}

/// The sender the event concerns (the null handle if none, or if the
/// link is a receiver).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_sender(event: *const muon_event) -> muon_sender {
    boundary!(muon_sender::NULL, {
        match self::event(event) {
            Some(e) => e.sender,
            None => muon_sender::NULL,
        }
    })
}

/// The receiver the event concerns (the null handle if none, or if the
/// link is a sender).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_receiver(event: *const muon_event) -> muon_receiver {
    boundary!(muon_receiver::NULL, {
        match self::event(event) {
            Some(e) => e.receiver,
            None => muon_receiver::NULL,
        }
    })
}

/// True if the event's link is a receiver (false if none).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_is_receiver(event: *const muon_event) -> bool {
    boundary!(false, {
        match self::event(event) {
            Some(e) => !e.receiver.is_null(),
            None => false,
        }
    })
}

/// The delivery the event concerns (the null handle if none).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_delivery(event: *const muon_event) -> muon_delivery {
    boundary!(muon_delivery::NULL, {
        match self::event(event) {
            Some(e) => e.delivery,
            None => muon_delivery::NULL,
        }
    })
}

/// The listener the event concerns (the null handle if none).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_listener(event: *const muon_event) -> muon_listener {
    boundary!(muon_listener::NULL, {
        match self::event(event) {
            Some(e) => e.listener,
            None => muon_listener::NULL,
        }
    })
}

/// The timer that fired (the null handle if none).
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_timer(event: *const muon_event) -> muon_timer {
    boundary!(muon_timer::NULL, {
        match self::event(event) {
            Some(e) => e.timer,
            None => muon_timer::NULL,
        }
    })
}

/// The incoming message of `on_message`: borrowed until the callback
/// returns (`muon_message_clone` to keep it). NULL for other events.
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_message(event: *const muon_event) -> *const muon_message {
    boundary!(std::ptr::null(), {
        match self::event(event) {
            Some(e) => e
                .message
                .as_ref()
                .map_or(std::ptr::null(), |m| view::<muon_message>(m)),
            None => std::ptr::null(),
        }
    })
}

/// The AMQP condition of a close, disconnect or transport error:
/// borrowed until the callback returns. NULL when there is none.
///
/// `event` is borrowed for the call. Returns the documented default
/// for a NULL event. Not thread-safe; call it from the callback.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_condition(event: *const muon_event) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        match self::event(event) {
            Some(e) => e
                .condition
                .as_ref()
                .map_or(std::ptr::null(), |c| view::<muon_condition>(c)),
            None => std::ptr::null(),
        }
    })
}

/// The condition's symbolic name, e.g. `amqp:unauthorized-access`,
/// NUL-terminated; borrowed as long as the condition. NULL for NULL.
/// Not thread-safe.
///
/// # Safety
/// `condition` is NULL or a live condition.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_condition_name(condition: *const muon_condition) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises a live condition or NULL.
        match unsafe { condition.cast::<Condition>().as_ref() } {
            Some(c) => c.name.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The condition's description, NUL-terminated (empty if it has none);
/// borrowed as long as the condition. NULL for NULL. Not thread-safe.
///
/// # Safety
/// `condition` is NULL or a live condition.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_condition_description(
    condition: *const muon_condition,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises a live condition or NULL.
        match unsafe { condition.cast::<Condition>().as_ref() } {
            Some(c) => c.description.as_ptr(),
            None => std::ptr::null(),
        }
    })
}
