//! `muon_message`: an AMQP 1.0 message owned by the application.
//!
//! This file holds the type, its life cycle, the body and the wire format;
//! `message_props.rs` the header and properties fields; `message_maps.rs`
//! application properties, annotations and the footer.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ffi::c_char;

use super::boundary::{
    Opaque, borrow, borrow_mut, boundary, bytes, check_out, cstr, into_raw, take, view, write,
};
use super::result::muon_result;
use super::value::muon_value;
use super::value_get::muon_bytes;
use super::value_wire::emit;
use crate::codec::Value;
use crate::codec::message::{Body, Message};
use crate::codec::sections::{Header, Properties};

/// An AMQP 1.0 message: header, delivery and message annotations,
/// properties, application properties, a body, and a footer (AMQP 1.0
/// §3.2). A new message has no sections but its body, which is the null
/// value.
///
/// A `muon_message *` from `muon_message_new`, `muon_message_clone` or
/// `muon_message_decode` is owned by the application: free it with
/// `muon_message_free`. A message handed to a callback is borrowed until
/// the callback returns; clone it to keep it.
///
/// Getters return views (`const muon_value *`, `const char *`,
/// `muon_bytes`) borrowed until the field they read is changed or the
/// message is freed.
///
/// A message is plain data: it may be moved between threads, but must not
/// be used from two threads at once. Every function may be called from a
/// callback.
///
/// Functions: `muon_message_new`, `muon_message_clone`,
/// `muon_message_set_body`, `muon_message_set_body_string`,
/// `muon_message_set_body_binary`, `muon_message_add_body_data`,
/// `muon_message_add_body_sequence`, `muon_message_body_kind`,
/// `muon_message_body`, `muon_message_body_data_count`,
/// `muon_message_body_data`, `muon_message_body_sequence_count`,
/// `muon_message_body_sequence_len`, `muon_message_body_sequence_get`;
/// header: `muon_message_set_durable`, `_set_priority`, `_set_ttl`,
/// `_clear_ttl`, `_set_first_acquirer`, `_set_delivery_count` and the
/// getters `muon_message_durable`, `_priority`, `_ttl`, `_first_acquirer`,
/// `_delivery_count`; properties: `muon_message_set_id`,
/// `_set_correlation_id`, `_set_user_id`, `_set_to`, `_set_subject`,
/// `_set_reply_to`, `_set_content_type`, `_set_content_encoding`,
/// `_set_absolute_expiry_time`, `_set_creation_time`, `_set_group_id`,
/// `_set_group_sequence`, `_set_reply_to_group_id`, the `_clear_` forms
/// of the numeric ones, and the getters `muon_message_id`,
/// `_correlation_id`, `_user_id`, `_to`, `_subject`, `_reply_to`,
/// `_content_type`, `_content_encoding`, `_absolute_expiry_time`,
/// `_creation_time`, `_group_id`, `_group_sequence`, `_reply_to_group_id`;
/// maps: `muon_message_set_property`, `_property`, `_property_count`,
/// `_property_key`, `_property_value`, and the same five for
/// `annotation` (message annotations), `delivery_annotation` and `footer`;
/// the typed property shortcuts `muon_message_set_property_string`,
/// `_set_property_long`, `_set_property_bool`, `_get_property_string`,
/// `_get_property_long`, `_get_property_bool`;
/// `muon_message_encode`, `muon_message_decode`, `muon_message_free`.
pub struct muon_message {
    _private: [u8; 0],
}

/// The text fields a getter returns as a NUL-terminated C string.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextField {
    To,
    Subject,
    ReplyTo,
    GroupId,
    ReplyToGroupId,
    ContentType,
    ContentEncoding,
}

const TEXT_FIELDS: usize = 7;

impl TextField {
    /// True for the fields AMQP types as symbols (ASCII only).
    pub(crate) fn is_symbol(self) -> bool {
        matches!(self, TextField::ContentType | TextField::ContentEncoding)
    }
}

/// What a `muon_message *` points to: the message, and NUL-terminated
/// copies of its text fields, made when C first asks for one and dropped
/// when that field changes (Rust strings carry no NUL).
///
/// A received message also keeps the bytes it arrived as, until something
/// changes it: a copy (`muon_message_clone`) then copies those bytes and
/// decodes them only if it is read, and sending or encoding it writes them
/// as they are. A broker that forwards what it receives never re-encodes.
#[derive(Debug, Default)]
pub(crate) struct MessageBox {
    /// The decoded message (made from `raw` on first use when empty);
    /// boxed, so that a message waiting as bytes stays small.
    msg: OnceCell<Box<Message>>,
    /// The encoding `msg` came from, while nothing has changed it; it was
    /// decoded successfully once, so decoding it again cannot fail.
    raw: Option<Vec<u8>>,
    text: [OnceCell<Box<[u8]>>; TEXT_FIELDS],
}

impl Opaque for muon_message {
    type Inner = MessageBox;
}

impl MessageBox {
    pub(crate) fn new(msg: Message) -> Self {
        MessageBox {
            msg: OnceCell::from(Box::new(msg)),
            raw: None,
            text: Default::default(),
        }
    }

    /// A message decoded from `raw`, which it keeps.
    pub(crate) fn received(msg: Box<Message>, raw: Vec<u8>) -> Self {
        MessageBox {
            msg: OnceCell::from(msg),
            raw: Some(raw),
            text: Default::default(),
        }
    }

    /// The message, to read.
    pub(crate) fn msg(&self) -> &Message {
        self.msg.get_or_init(|| {
            self.raw
                .as_deref()
                .and_then(|r| Message::decode_boxed(&[r]).ok())
                .unwrap_or_default()
        })
    }

    /// The message, to change: its original encoding no longer applies.
    pub(crate) fn msg_mut(&mut self) -> &mut Message {
        self.msg();
        self.raw = None;
        match self.msg.get_mut() {
            Some(m) => m,
            None => unreachable!("initialised just above"),
        }
    }

    /// Takes the bytes back from a message that no longer needs them (it
    /// is decoded): an event's message, after its callback.
    pub(crate) fn take_raw(&mut self) -> Option<Vec<u8>> {
        if self.msg.get().is_some() {
            self.raw.take()
        } else {
            None
        }
    }

    /// The bytes the message arrived as, if it has not changed since.
    pub(crate) fn raw(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    /// The message's encoding.
    pub(crate) fn encoded(&self) -> std::borrow::Cow<'_, [u8]> {
        if let Some(raw) = &self.raw {
            // Kept bytes: no copy (a forwarding broker asks for the size
            // of every message it queues).
            return std::borrow::Cow::Borrowed(raw);
        }
        let m = self.msg();
        let mut out = Vec::with_capacity(m.encoded_len());
        m.encode(&mut out);
        std::borrow::Cow::Owned(out)
    }

    fn text_of(&self, field: TextField) -> Option<&str> {
        let p = self.msg().properties.as_ref()?;
        match field {
            TextField::To => p.to.as_deref(),
            TextField::Subject => p.subject.as_deref(),
            TextField::ReplyTo => p.reply_to.as_deref(),
            TextField::GroupId => p.group_id.as_deref(),
            TextField::ReplyToGroupId => p.reply_to_group_id.as_deref(),
            TextField::ContentType => p.content_type.as_ref().map(|s| s.0.as_str()),
            TextField::ContentEncoding => p.content_encoding.as_ref().map(|s| s.0.as_str()),
        }
    }

    /// The field as a NUL-terminated string, or NULL when absent.
    pub(crate) fn c_text(&self, field: TextField) -> *const c_char {
        match self.text_of(field) {
            None => std::ptr::null(),
            Some(s) => self.text[field as usize]
                .get_or_init(|| {
                    let mut v = Vec::with_capacity(s.len() + 1);
                    v.extend_from_slice(s.as_bytes());
                    v.push(0);
                    v.into_boxed_slice()
                })
                .as_ptr()
                .cast(),
        }
    }

    /// Sets text field `field` (`None` removes it) and forgets its C copy.
    pub(crate) fn set_text(&mut self, field: TextField, v: Option<String>) {
        self.text_changed(field);
        let p = self.msg_mut().properties_mut();
        match field {
            TextField::To => p.to = v,
            TextField::Subject => p.subject = v,
            TextField::ReplyTo => p.reply_to = v,
            TextField::GroupId => p.group_id = v,
            TextField::ReplyToGroupId => p.reply_to_group_id = v,
            TextField::ContentType => p.content_type = v.map(crate::codec::Symbol),
            TextField::ContentEncoding => p.content_encoding = v.map(crate::codec::Symbol),
        }
    }

    /// Forgets the C copy of `field`, before the field changes.
    pub(crate) fn text_changed(&mut self, field: TextField) {
        self.text[field as usize] = OnceCell::new();
    }
}

impl Clone for MessageBox {
    fn clone(&self) -> Self {
        match &self.raw {
            // The copy decodes the bytes only if it is read.
            Some(raw) => MessageBox {
                msg: OnceCell::new(),
                raw: Some(raw.clone()),
                text: Default::default(),
            },
            None => MessageBox::new(Message::clone(self.msg())),
        }
    }
}

/// Drops a header or properties section that holds only defaults.
pub(crate) fn tidy(m: &mut Message) {
    if m.header.as_ref().is_some_and(|h| *h == Header::default()) {
        m.header = None;
    }
    if m.properties
        .as_ref()
        .is_some_and(|p| *p == Properties::default())
    {
        m.properties = None;
    }
}

/// Runs `f` on the message behind `msg`, then tidies it.
///
/// # Safety
/// `msg` is NULL or a live message that nothing else uses for the call.
pub(crate) unsafe fn change(
    msg: *mut muon_message,
    f: impl FnOnce(&mut MessageBox) -> Result<(), muon_result>,
) -> Result<(), muon_result> {
    // SAFETY: forwarded from the caller.
    let m = unsafe { borrow_mut(msg) }?;
    let r = f(m);
    tidy(m.msg_mut());
    r
}

/// `f` applied to the message behind `msg`, or `default` for NULL.
///
/// # Safety
/// `msg` is NULL or a live message.
pub(crate) unsafe fn read<T>(
    msg: *const muon_message,
    default: T,
    f: impl FnOnce(&MessageBox) -> T,
) -> T {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(msg) }.map_or(default, f)
}

/// Writes an optional field to `out`: true when present.
///
/// # Safety
/// `msg` is NULL or a live message; `out` is NULL or writable.
pub(crate) unsafe fn optional<T>(
    msg: *const muon_message,
    out: *mut T,
    f: impl FnOnce(&Message) -> Option<T>,
) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: forwarded from the caller.
    match unsafe { read(msg, None, |m| f(m.msg())) } {
        // SAFETY: `out` is non-NULL and, per the caller, writable.
        Some(v) => unsafe { write(out, v) }.is_ok(),
        None => false,
    }
}

/// The properties section, if any.
pub(crate) fn props(m: &Message) -> Option<&Properties> {
    m.properties.as_ref()
}

/// The form of a message's body (AMQP 1.0 §3.2.6-3.2.8). The numbers are
/// stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_body_kind {
    /// Not a body: the answer for a NULL message.
    None = 0,
    /// One amqp-value section: any single value (`muon_message_body`).
    Value = 1,
    /// One or more data sections: opaque bytes (`muon_message_body_data`).
    Data = 2,
    /// One or more amqp-sequence sections: lists of values
    /// (`muon_message_body_sequence_get`).
    Sequence = 3,
}

/// Makes an empty message: no header, annotations, properties or footer,
/// and the null value as its body.
///
/// `out` is borrowed for the call and receives the message only on
/// success: ownership moves out; free with `muon_message_free`. Returns
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (`out` is NULL) or
/// `MUON_RESULT_PANIC`. Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_new(out: *mut *mut muon_message) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `out` is non-NULL and, per the caller, writable.
        unsafe { write(out, into_raw(Box::new(MessageBox::default()))) }
    })
}

/// Makes a deep copy of `msg`, for instance to keep a message that a
/// callback only lends.
///
/// `msg` is borrowed for the call. `out` is borrowed for the call and receives
/// the copy only on success: ownership moves out; free with
/// `muon_message_free`. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_clone(
    msg: *const muon_message,
    out: *mut *mut muon_message,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `msg` is NULL or live, per the contract.
        let copy = unsafe { borrow(msg) }?.clone();
        // SAFETY: `out` is non-NULL and writable, per the contract.
        unsafe { write(out, into_raw(Box::new(copy))) }
    })
}

/// Sets the body to one amqp-value section holding `value`, replacing the
/// old body of any kind.
///
/// `msg` is borrowed for the call. On success ownership of `value` moves in: do
/// not use or free it afterwards. On any error it stays with the caller,
/// unchanged. Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`. Not
/// thread-safe: use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `value` is NULL or a value
/// the caller owns (not a view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_body(
    msg: *mut muon_message,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        if value.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        // SAFETY: `value` is a non-NULL owned value, per the contract.
        m.msg_mut().body = Body::Value(*unsafe { take(value) }?);
        Ok(())
    })
}

/// Sets the body to one amqp-value section holding a copy of the
/// NUL-terminated UTF-8 string `text`: the usual body of a text message.
///
/// `msg` and `text` are borrowed for the call. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_INVALID_UTF8` (body unchanged).
/// Not thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_body_string(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `text` is NULL or NUL-terminated, per the contract.
        let s = unsafe { cstr(text) }?;
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        m.msg_mut().body = Body::Value(Value::String(Cow::Owned(s.to_owned())));
        Ok(())
    })
}

/// Sets the body to one data section holding a copy of `len` bytes at
/// `ptr`: the usual body of a binary message.
///
/// `msg` and `ptr` are borrowed for the call; `ptr` may be NULL when `len` is
/// 0. Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe:
/// use one message from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `ptr` is NULL or points to
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_body_binary(
    msg: *mut muon_message,
    ptr: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `ptr` is NULL or `len` readable bytes, per the contract.
        let b = unsafe { bytes(ptr, len) }?;
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        m.msg_mut().body = Body::Data(vec![b.to_vec()]);
        Ok(())
    })
}

/// Appends a data section holding a copy of `len` bytes at `ptr`. When the
/// body is not already data sections, it is replaced by this one section.
///
/// `msg` and `ptr` are borrowed for the call; `ptr` may be NULL when `len` is
/// 0. Views of earlier data sections are invalidated. Returns `MUON_RESULT_OK`
/// or `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `ptr` is NULL or points to
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_add_body_data(
    msg: *mut muon_message,
    ptr: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `ptr` is NULL or `len` readable bytes, per the contract.
        let b = unsafe { bytes(ptr, len) }?;
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        match &mut m.msg_mut().body {
            Body::Data(chunks) => chunks.push(b.to_vec()),
            other => *other = Body::Data(vec![b.to_vec()]),
        }
        Ok(())
    })
}

/// Appends an amqp-sequence section holding the items of `list`. When the
/// body is not already sequence sections, it is replaced by this one
/// section.
///
/// `msg` is borrowed for the call. On success ownership of `list` moves in: do
/// not use or free it afterwards. On any error it stays with the caller,
/// unchanged. Views of earlier sequence items are invalidated. Returns
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE`
/// (`list` is not a list). Not thread-safe: use one message from one thread at
/// a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `list` is NULL or a value the
/// caller owns (not a view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_add_body_sequence(
    msg: *mut muon_message,
    list: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        // SAFETY: `list` is NULL or an owned value, per the contract.
        if !matches!(unsafe { borrow(list) }?, Value::List(_)) {
            return Err(muon_result::WrongType);
        }
        // SAFETY: as above; checked non-NULL and of the right type.
        let Value::List(items) = *unsafe { take(list) }? else {
            unreachable!("checked to be a list above");
        };
        match &mut m.msg_mut().body {
            Body::Sequence(sections) => sections.push(items),
            other => *other = Body::Sequence(vec![items]),
        }
        Ok(())
    })
}

/// The form of `msg`'s body, or `MUON_BODY_KIND_NONE` when `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_kind(msg: *const muon_message) -> muon_body_kind {
    boundary!(muon_body_kind::None, {
        // SAFETY: `msg` is NULL or live, per the contract.
        match unsafe { borrow(msg) } {
            Ok(m) => match m.msg().body {
                Body::Value(_) => muon_body_kind::Value,
                Body::Data(_) => muon_body_kind::Data,
                Body::Sequence(_) => muon_body_kind::Sequence,
            },
            Err(_) => muon_body_kind::None,
        }
    })
}

/// The value of an amqp-value body, as a view borrowed until the body is
/// changed or `msg` is freed. NULL when `msg` is NULL or its body is data
/// or sequence sections.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body(msg: *const muon_message) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        match unsafe { borrow(msg) }.map(|m| &m.msg().body) {
            Ok(Body::Value(v)) => view::<muon_value>(v),
            _ => std::ptr::null(),
        }
    })
}

/// The number of data sections in the body; 0 when `msg` is NULL or the
/// body is not data sections.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_data_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: `msg` is NULL or live, per the contract.
        match unsafe { borrow(msg) }.map(|m| &m.msg().body) {
            Ok(Body::Data(chunks)) => chunks.len(),
            _ => 0,
        }
    })
}

/// Reads data section `index` of the body as a view of its bytes.
///
/// `msg` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes are borrowed until the body is changed or `msg`
/// is freed. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_WRONG_TYPE` (the body is not data sections), or
/// `MUON_RESULT_OUT_OF_RANGE` (no section `index`); out is untouched on error.
/// Not thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_data(
    msg: *const muon_message,
    index: usize,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `msg` is NULL or live, per the contract.
        let Body::Data(chunks) = &unsafe { borrow(msg) }?.msg().body else {
            return Err(muon_result::WrongType);
        };
        let chunk = chunks.get(index).ok_or(muon_result::OutOfRange)?;
        // SAFETY: `out` is non-NULL and writable, per the contract.
        unsafe { write(out, muon_bytes::of(chunk)) }
    })
}

/// The body's sequence sections, if that is its form.
fn sequence(m: Result<&MessageBox, muon_result>) -> Option<&Vec<Vec<Value<'static>>>> {
    match m.map(|m| &m.msg().body) {
        Ok(Body::Sequence(s)) => Some(s),
        _ => None,
    }
}

/// The number of amqp-sequence sections in the body; 0 when `msg` is NULL
/// or the body is not sequence sections.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_sequence_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: `msg` is NULL or live, per the contract.
        sequence(unsafe { borrow(msg) }).map_or(0, Vec::len)
    })
}

/// The number of items in amqp-sequence section `section`; 0 when `msg` is
/// NULL, the body is not sequence sections, or there is no such section.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_sequence_len(
    msg: *const muon_message,
    section: usize,
) -> usize {
    boundary!(0, {
        // SAFETY: `msg` is NULL or live, per the contract.
        sequence(unsafe { borrow(msg) })
            .and_then(|s| s.get(section))
            .map_or(0, Vec::len)
    })
}

/// Item `index` of amqp-sequence section `section`, as a view borrowed
/// until the body is changed or `msg` is freed. NULL when `msg` is NULL,
/// the body is not sequence sections, or there is no such item.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_body_sequence_get(
    msg: *const muon_message,
    section: usize,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        sequence(unsafe { borrow(msg) })
            .and_then(|s| s.get(section))
            .and_then(|items| items.get(index))
            .map_or(std::ptr::null(), view::<muon_value>)
    })
}

/// Encodes `msg` as an AMQP 1.0 message (its sections in the order of
/// §3.2, absent ones left out): the payload of a transfer.
///
/// `msg` is borrowed for the call. `buf` is borrowed for the call and written
/// only on success. `len` is borrowed for the call: on success it receives the
/// number of bytes written; on `MUON_RESULT_BUFFER_TOO_SMALL` it receives the
/// number needed and `buf` is untouched (this size report is the one exception
/// to "out-parameters are written only on success"). `buf` may be NULL when
/// `cap` is 0, to ask for the size. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_BUFFER_TOO_SMALL`. Not
/// thread-safe: use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `buf` is NULL or valid for
/// writing `cap` bytes; `len` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_encode(
    msg: *const muon_message,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> muon_result {
    boundary!(result: {
        check_out(len)?;
        // SAFETY: `msg` is NULL or live, per the contract.
        let m = unsafe { borrow(msg) }?;
        let encoded = m.encoded();
        // SAFETY: forwarded from this function's contract.
        unsafe { emit(&encoded, buf, cap, len) }
    })
}

/// Decodes an AMQP 1.0 message from `len` bytes at `data` (a transfer's
/// whole payload). Any input is safe: bytes that are not a valid message
/// (sections out of order or repeated, mixed body kinds, non-string
/// application-property keys, bad encodings) give
/// `MUON_RESULT_DECODE_ERROR`. A payload with no body section reads as the
/// null body.
///
/// Until it is changed, the message encodes (`muon_message_encode`,
/// `muon_sender_send`) to exactly these bytes, as does a copy of it and a
/// message received in `on_message`: forwarding keeps the sender's encoding.
///
/// `data` is borrowed for the call (it may be NULL when `len` is 0; the message
/// copies what it keeps). `out` is borrowed for the call and receives the
/// message only on success: ownership moves out; free with `muon_message_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_DECODE_ERROR`. Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes; `out` is NULL or
/// valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut muon_message,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `data` is NULL or `len` readable bytes, per the contract.
        let input = unsafe { bytes(data, len) }?;
        let m = MessageBox::received(Message::decode_boxed(&[input])?, input.to_vec());
        // SAFETY: `out` is non-NULL and writable, per the contract.
        unsafe { write(out, into_raw(Box::new(m))) }
    })
}

/// Frees `msg` and everything in it. NULL is ignored. Every view into the
/// message becomes invalid.
///
/// Ownership of `msg` moves in. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback (never on a message the
/// callback only borrows).
///
/// # Safety
/// `msg` is NULL or a message this API handed to the caller (ownership
/// moved out) and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_free(msg: *mut muon_message) {
    boundary!((), {
        // SAFETY: `msg` is NULL or owned by the caller, per the contract.
        if let Ok(b) = unsafe { take(msg) } {
            drop(b);
        }
    })
}
