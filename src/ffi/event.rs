//! `muon_event` (what a callback is told) and `muon_condition` (an AMQP
//! error: name and description).

use std::ffi::{CString, c_char};

use super::boundary::{Opaque, boundary, view};
use super::event_loop::muon_loop;
use super::handle::{
    muon_connection, muon_delivery, muon_listener, muon_receiver, muon_sender, muon_timer,
    muon_transaction,
};
use super::message::{MessageBox, muon_message};
use super::value::muon_value;
use crate::codec::Value;
use crate::codec::transport::AmqpError;

/// What happened: the kind of a `muon_event` (`muon_event_get_kind`). The
/// numbers are stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_event_kind {
    /// Not an event: what `muon_event_get_kind` says for NULL.
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
    /// `on_sasl_authenticate`
    SaslAuthenticate = 24,
    /// `on_message_error`
    MessageError = 25,
    /// `on_transaction_declared`
    TransactionDeclared = 26,
    /// `on_transaction_discharged`
    TransactionDischarged = 27,
    /// `on_transaction_failed`
    TransactionFailed = 28,
    /// `on_coordinator_declare`
    CoordinatorDeclare = 29,
    /// `on_coordinator_discharge`
    CoordinatorDischarge = 30,
}

/// An AMQP error condition: a symbolic name such as `amqp:not-found`, a
/// description, and an optional info map.
///
/// Functions: `muon_condition_name`, `muon_condition_description`,
/// `muon_condition_info`.
pub struct muon_condition {
    _private: [u8; 0],
}

/// The Rust side of a condition: NUL-terminated copies for C, and the
/// info map as a value.
pub(crate) struct Condition {
    pub name: CString,
    pub description: CString,
    pub info: Option<Box<Value<'static>>>,
}

impl Condition {
    pub(crate) fn from_error(e: &AmqpError) -> Condition {
        let clean = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        Condition {
            name: clean(e.condition.as_str()),
            description: clean(e.description.as_deref().unwrap_or("")),
            info: e.info.as_ref().map(|m| Box::new(Value::Map(m.0.clone()))),
        }
    }
}

impl Opaque for muon_condition {
    type Inner = Condition;
}

/// The event a callback is handed: borrowed until the callback returns.
/// It names the handles the event concerns; handles not concerned are the
/// null handle.
///
/// Functions: `muon_event_get_kind`, `muon_event_loop`,
/// `muon_event_connection`, `muon_event_sender`, `muon_event_receiver`,
/// `muon_event_is_receiver`, `muon_event_delivery`, `muon_event_listener`,
/// `muon_event_timer`, `muon_event_message`, `muon_event_condition`,
/// `muon_event_transaction`, `muon_event_transaction_id`,
/// `muon_event_transaction_rollback`.
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
    pub transaction: muon_transaction,
    /// The transaction's id (transaction and coordinator events).
    pub txn_id: Option<Vec<u8>>,
    /// A rollback (discharge events).
    pub txn_rollback: bool,
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
            transaction: muon_transaction::NULL,
            txn_id: None,
            txn_rollback: false,
        }
    }
}

impl Opaque for muon_event {
    type Inner = EventData;
}

/// The event behind `ev`, if `ev` is not NULL.
fn event<'a>(ev: *const muon_event) -> Option<&'a EventData> {
    // SAFETY: a non-NULL `ev` is the event the loop handed to the running
    // callback (a live `EventData`), as every accessor's contract says.
    unsafe { ev.cast::<EventData>().as_ref() }
}

/// The event's kind (`MUON_EVENT_KIND_NONE` for NULL). (Not
/// `muon_event_kind`: C would not allow a function of the same name as the
/// enum's typedef.)
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_get_kind(event: *const muon_event) -> muon_event_kind {
    boundary!(muon_event_kind::None, {
        self::event(event).map_or(muon_event_kind::None, |e| e.kind)
    })
}

/// The loop the event comes from (NULL for NULL): borrowed, the loop stays
/// the application's.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_loop(event: *const muon_event) -> *mut muon_loop {
    boundary!(std::ptr::null_mut(), {
        self::event(event).map_or(std::ptr::null_mut(), |e| e.owner)
    })
}

/// The connection the event concerns (the null handle if none, or for
/// NULL). Every link, delivery, message and connection event has one.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_connection(event: *const muon_event) -> muon_connection {
    boundary!(muon_connection::NULL, {
        self::event(event).map_or(muon_connection::NULL, |e| e.connection)
    })
}

/// The sender the event concerns: the null handle if none, if the link is
/// a receiver, or for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_sender(event: *const muon_event) -> muon_sender {
    boundary!(muon_sender::NULL, {
        self::event(event).map_or(muon_sender::NULL, |e| e.sender)
    })
}

/// The receiver the event concerns: the null handle if none, if the link
/// is a sender, or for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_receiver(event: *const muon_event) -> muon_receiver {
    boundary!(muon_receiver::NULL, {
        self::event(event).map_or(muon_receiver::NULL, |e| e.receiver)
    })
}

/// True if the event's link is a receiver (false if it is a sender, if
/// there is no link, or for NULL): the tutorial's `event.link.is_receiver`.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_is_receiver(event: *const muon_event) -> bool {
    boundary!(false, {
        self::event(event).is_some_and(|e| !e.receiver.is_null())
    })
}

/// The delivery the event concerns (`on_message`, `on_accepted`,
/// `on_rejected`, `on_released`, `on_modified`, `on_settled`); the null
/// handle otherwise, or for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_delivery(event: *const muon_event) -> muon_delivery {
    boundary!(muon_delivery::NULL, {
        self::event(event).map_or(muon_delivery::NULL, |e| e.delivery)
    })
}

/// The listener the event concerns (`on_listener_open`,
/// `on_listener_final`, `on_connection_accepted`); the null handle
/// otherwise, or for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_listener(event: *const muon_event) -> muon_listener {
    boundary!(muon_listener::NULL, {
        self::event(event).map_or(muon_listener::NULL, |e| e.listener)
    })
}

/// The timer that fired (`on_timer`; the handle is already stale, useful
/// to tell timers apart); the null handle otherwise, or for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_timer(event: *const muon_event) -> muon_timer {
    boundary!(muon_timer::NULL, {
        self::event(event).map_or(muon_timer::NULL, |e| e.timer)
    })
}

/// The incoming message of `on_message`, or the unsent message muon hands
/// back with `on_released` (see `muon_sender_send`): valid until the
/// callback returns (see "Pointers returned by getters" at the top of this
/// header; `muon_message_clone` to keep it). NULL for other events and for
/// NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_message(event: *const muon_event) -> *const muon_message {
    boundary!(std::ptr::null(), {
        self::event(event)
            .and_then(|e| e.message.as_ref())
            .map_or(std::ptr::null(), view::<muon_message>)
    })
}

/// The AMQP error condition of `on_connection_remote_close`,
/// `on_session_remote_close`, `on_link_remote_close`, `on_disconnected`
/// (why the transport ended), `on_message_error`, `on_rejected`, and
/// `on_released` for a message muon hands back unsent: valid until the
/// callback returns (see "Pointers returned by getters" at the top of this
/// header). NULL when there is none (a clean close, the peer's own
/// `released`) and for NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_condition(event: *const muon_event) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        self::event(event)
            .and_then(|e| e.condition.as_ref())
            .map_or(std::ptr::null(), view::<muon_condition>)
    })
}

/// The condition's symbolic name, e.g. `amqp:unauthorized-access`:
/// NUL-terminated, valid as long as the condition is. NULL for NULL.
///
/// Not thread-safe; may be called from a callback.
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

/// The condition's description: NUL-terminated (empty if it has none),
/// valid as long as the condition is. NULL for NULL.
///
/// Not thread-safe; may be called from a callback.
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

/// The condition's info map (AMQP `info`: symbol keys, e.g. `hostname`
/// and `port` of an `amqp:connection:redirect`): borrowed as long as the
/// condition is (`muon_value_clone` to keep it). NULL if it has none, and
/// for NULL. Read it with `muon_value_map_*` or `muon_value_format`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// `condition` is NULL or a live condition.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_condition_info(
    condition: *const muon_condition,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises a live condition or NULL.
        match unsafe { condition.cast::<Condition>().as_ref() }.and_then(|c| c.info.as_deref()) {
            Some(v) => (v as *const Value<'static>).cast(),
            None => std::ptr::null(),
        }
    })
}
