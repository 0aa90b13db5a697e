//! The map sections of a `muon_message`: application properties (AMQP 1.0
//! §3.2.5, string keys, simple values), message annotations (§3.2.3),
//! delivery annotations (§3.2.2) and the footer (§3.2.9), all three with
//! symbol keys and values of any type.
//!
//! Each has the same five functions: set an entry by key (replacing the
//! value of an existing key, else appending), look one up by key, count
//! the entries, and read entry `i`'s key and value, in wire order.

use std::borrow::Cow;
use std::ffi::c_char;

use super::boundary::{borrow, borrow_mut, boundary, check_out, cstr, take, view, write};
use super::message::{MessageBox, muon_message};
use super::result::muon_result;
use super::value::{muon_value, symbol_text};
use super::value_container::{check_nesting, nesting, put};
use super::value_get::muon_bytes;
use crate::codec::message::Message;
use crate::codec::{Map, Value};

/// One of the message's map sections.
#[derive(Debug, Clone, Copy)]
enum Section {
    ApplicationProperties,
    MessageAnnotations,
    DeliveryAnnotations,
    Footer,
}

impl Section {
    fn get(self, m: &Message) -> Option<&Map> {
        match self {
            Section::ApplicationProperties => m.application_properties.as_ref(),
            Section::MessageAnnotations => m.message_annotations.as_ref(),
            Section::DeliveryAnnotations => m.delivery_annotations.as_ref(),
            Section::Footer => m.footer.as_ref(),
        }
    }

    fn get_mut(self, m: &mut Message) -> &mut Map {
        let slot = match self {
            Section::ApplicationProperties => &mut m.application_properties,
            Section::MessageAnnotations => &mut m.message_annotations,
            Section::DeliveryAnnotations => &mut m.delivery_annotations,
            Section::Footer => &mut m.footer,
        };
        slot.get_or_insert_with(Map::default)
    }

    /// The key `key` as this section types it: a string for application
    /// properties, a symbol (ASCII) for the annotation maps.
    fn key(self, key: &str) -> Result<Value<'static>, muon_result> {
        match self {
            Section::ApplicationProperties => Ok(Value::String(Cow::Owned(key.to_owned()))),
            _ => Ok(Value::Symbol(Cow::Owned(symbol_text(key)?.to_owned()))),
        }
    }

    fn matches(self, k: &Value<'_>, key: &str) -> bool {
        match (self, k) {
            (Section::ApplicationProperties, Value::String(s)) => s == key,
            (Section::ApplicationProperties, _) => false,
            (_, Value::Symbol(s)) => s == key,
            (_, _) => false,
        }
    }

    /// Application property values must be simple: not compound, not
    /// described (§3.2.5). Annotations take anything.
    fn accepts(self, v: &Value<'_>) -> bool {
        match self {
            Section::ApplicationProperties => !matches!(
                v,
                Value::List(_) | Value::Map(_) | Value::Array(_) | Value::Described(_)
            ),
            _ => true,
        }
    }
}

/// Sets `key` → `value` in `section`; `value` moves in only on success.
///
/// # Safety
/// `msg` is NULL or a live, unaliased message; `key` is NULL or
/// NUL-terminated; `value` is NULL or an owned value.
unsafe fn set(
    msg: *mut muon_message,
    section: Section,
    key: *const c_char,
    value: *mut muon_value,
) -> Result<(), muon_result> {
    // SAFETY: forwarded from the caller.
    let m = unsafe { borrow_mut(msg) }?;
    // SAFETY: forwarded from the caller.
    let k = section.key(unsafe { cstr(key) }?)?;
    // SAFETY: forwarded from the caller.
    let v = unsafe { borrow(value) }?;
    if !section.accepts(v) {
        return Err(muon_result::WrongType);
    }
    // The map is one more level around the value.
    check_nesting(nesting(v))?;
    // SAFETY: checked non-NULL above; ownership moves in now.
    let owned = *unsafe { take(value) }?;
    put(&mut section.get_mut(m.msg_mut()).0, k, owned);
    Ok(())
}

/// The entries of `section`, or none.
///
/// # Safety
/// `msg` is NULL or a live message.
unsafe fn entries<'a>(
    msg: *const muon_message,
    section: Section,
) -> &'a [(Value<'static>, Value<'static>)] {
    // SAFETY: forwarded from the caller.
    let m: Result<&MessageBox, _> = unsafe { borrow(msg) };
    m.ok()
        .and_then(|m| section.get(m.msg()))
        .map_or(&[], |map| map.0.as_slice())
}

/// The value under `key` in `section`, as a view, or NULL.
///
/// # Safety
/// `msg` is NULL or a live message; `key` is NULL or NUL-terminated.
unsafe fn lookup(
    msg: *const muon_message,
    section: Section,
    key: *const c_char,
) -> *const muon_value {
    // SAFETY: forwarded from the caller.
    let Ok(key) = (unsafe { cstr(key) }) else {
        return std::ptr::null();
    };
    // SAFETY: forwarded from the caller.
    unsafe { entries(msg, section) }
        .iter()
        .find(|(k, _)| section.matches(k, key))
        .map_or(std::ptr::null(), |(_, v)| view::<muon_value>(v))
}

/// Sets the application property `key` to `value`, replacing the value of an existing
/// equal key. `key` is a NUL-terminated UTF-8 string.
/// `value` must be a simple value: not a list, map, array or described
/// value (AMQP 1.0 §3.2.5).
///
/// `msg` and `key` are borrowed for the call. On success ownership of `value`
/// moves in: do not use or free it afterwards. On any error it stays with the
/// caller, unchanged. Views into the application properties are invalidated.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key` is not UTF-8), or `MUON_RESULT_WRONG_TYPE`
/// (`value` is not simple). Not thread-safe: use one message from one thread at
/// a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `value` is NULL or a value the caller owns (not a
/// view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_property(
    msg: *mut muon_message,
    key: *const c_char,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set(msg, Section::ApplicationProperties, key, value) }
    })
}

/// The application property under the string key `key`, as a view borrowed until the
/// application properties change or `msg` is freed; NULL when there is none, or `msg` or
/// `key` is NULL or `key` is not UTF-8.
///
/// `msg` and `key` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_property(
    msg: *const muon_message,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { lookup(msg, Section::ApplicationProperties, key) }
    })
}

/// The number of application property entries; 0 when there are none or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_property_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::ApplicationProperties) }.len()
    })
}

/// The key of application property entry `index`, in wire order, as a view
/// borrowed until the application properties change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL. Keys are strings.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_property_key(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::ApplicationProperties) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.0))
    })
}

/// The value of application property entry `index`, in wire order, as a view
/// borrowed until the application properties change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_property_value(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::ApplicationProperties) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.1))
    })
}

// ---- application property shortcuts: typed setters and getters --------------------

/// Sets application property `key` to a value made here (no `muon_value`
/// to build and free).
///
/// # Safety
/// `msg` is NULL or a live, unaliased message; `key` is NULL or
/// NUL-terminated.
unsafe fn set_simple(
    msg: *mut muon_message,
    key: *const c_char,
    value: Value<'static>,
) -> Result<(), muon_result> {
    // SAFETY: forwarded from the caller.
    let m = unsafe { borrow_mut(msg) }?;
    // SAFETY: forwarded from the caller.
    let k = Section::ApplicationProperties.key(unsafe { cstr(key) }?)?;
    put(
        &mut Section::ApplicationProperties.get_mut(m.msg_mut()).0,
        k,
        value,
    );
    Ok(())
}

/// Reads application property `key` with `f` into `out`:
/// `MUON_RESULT_NOT_FOUND` when there is none, `MUON_RESULT_WRONG_TYPE`
/// when `f` declines its type, or `f`'s own error.
///
/// # Safety
/// `msg` is NULL or a live message; `key` is NULL or NUL-terminated;
/// `out` is NULL or writable.
unsafe fn get_simple<T>(
    msg: *const muon_message,
    key: *const c_char,
    out: *mut T,
    f: impl FnOnce(&Value<'static>) -> Result<T, muon_result>,
) -> Result<(), muon_result> {
    check_out(out)?;
    // SAFETY: forwarded from the caller.
    let m: &MessageBox = unsafe { borrow(msg) }?;
    // SAFETY: forwarded from the caller.
    let key = unsafe { cstr(key) }?;
    let v = Section::ApplicationProperties
        .get(m.msg())
        .and_then(|map| {
            map.0
                .iter()
                .find(|(k, _)| Section::ApplicationProperties.matches(k, key))
        })
        .map(|(_, v)| v)
        .ok_or(muon_result::NotFound)?;
    let answer = f(v)?;
    // SAFETY: forwarded from the caller.
    unsafe { write(out, answer) }
}

/// Sets the application property `key` to the string `value` (both
/// NUL-terminated UTF-8), replacing the value of an existing equal key:
/// `muon_message_set_property` with a string value, without building and
/// freeing a `muon_value`.
///
/// `msg`, `key` and `value` are borrowed for the call (the text is
/// copied). Views into the application properties are invalidated. Returns
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`
/// (`key` or `value` is not UTF-8), `MUON_RESULT_PANIC`; on an error the
/// message is unchanged. Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` and `value` are NULL or
/// NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_property_string(
    msg: *mut muon_message,
    key: *const c_char,
    value: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        let v = unsafe { cstr(value) }?.to_owned();
        // SAFETY: forwarded from this function's contract.
        unsafe { set_simple(msg, key, Value::String(Cow::Owned(v))) }
    })
}

/// Sets the application property `key` (NUL-terminated UTF-8) to the AMQP
/// `long` `value`, replacing the value of an existing equal key.
///
/// `msg` and `key` are borrowed for the call. Views into the application
/// properties are invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_PANIC`; on an error the message is unchanged. Not
/// thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_property_long(
    msg: *mut muon_message,
    key: *const c_char,
    value: i64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_simple(msg, key, Value::Long(value)) }
    })
}

/// Sets the application property `key` (NUL-terminated UTF-8) to the AMQP
/// `boolean` `value`, replacing the value of an existing equal key.
///
/// `msg` and `key` are borrowed for the call. Views into the application
/// properties are invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_PANIC`; on an error the message is unchanged. Not
/// thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_property_bool(
    msg: *mut muon_message,
    key: *const c_char,
    value: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_simple(msg, key, Value::Bool(value)) }
    })
}

/// Reads the application property `key` (NUL-terminated UTF-8) when it is
/// a string: `*out` receives a view of its UTF-8 bytes (not
/// NUL-terminated), borrowed until the application properties change or
/// `msg` is freed.
///
/// `msg` and `key` are borrowed for the call; `out` is written only on
/// success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key`), `MUON_RESULT_NOT_FOUND` (no such
/// property), `MUON_RESULT_WRONG_TYPE` (the property is not a string; read
/// it with `muon_message_property`), `MUON_RESULT_PANIC`. Not thread-safe:
/// use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_get_property_string(
    msg: *const muon_message,
    key: *const c_char,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get_simple(msg, key, out, |v| match v {
                Value::String(s) => Ok(muon_bytes::of(s.as_bytes())),
                _ => Err(muon_result::WrongType),
            })
        }
    })
}

/// Reads the application property `key` (NUL-terminated UTF-8) when it is
/// an integer: any of the AMQP types byte, short, int, long, ubyte, ushort,
/// uint and ulong, whose value `*out` receives as an `int64_t` (peers
/// differ in the type they send a number as).
///
/// `msg` and `key` are borrowed for the call; `out` is written only on
/// success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key`), `MUON_RESULT_NOT_FOUND` (no such
/// property), `MUON_RESULT_WRONG_TYPE` (not an integer: a float, a string,
/// ...), `MUON_RESULT_OUT_OF_RANGE` (a ulong above `INT64_MAX`),
/// `MUON_RESULT_PANIC`. Not thread-safe: use one message from one thread at
/// a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_get_property_long(
    msg: *const muon_message,
    key: *const c_char,
    out: *mut i64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get_simple(msg, key, out, |v| match *v {
                Value::Byte(x) => Ok(x.into()),
                Value::Short(x) => Ok(x.into()),
                Value::Int(x) => Ok(x.into()),
                Value::Long(x) => Ok(x),
                Value::Ubyte(x) => Ok(x.into()),
                Value::Ushort(x) => Ok(x.into()),
                Value::Uint(x) => Ok(x.into()),
                Value::Ulong(x) => i64::try_from(x).map_err(|_| muon_result::OutOfRange),
                _ => Err(muon_result::WrongType),
            })
        }
    })
}

/// Reads the application property `key` (NUL-terminated UTF-8) when it is
/// a boolean.
///
/// `msg` and `key` are borrowed for the call; `out` is written only on
/// success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key`), `MUON_RESULT_NOT_FOUND` (no such
/// property), `MUON_RESULT_WRONG_TYPE` (not a boolean), `MUON_RESULT_PANIC`.
/// Not thread-safe: use one message from one thread at a time. May be
/// called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_get_property_bool(
    msg: *const muon_message,
    key: *const c_char,
    out: *mut bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get_simple(msg, key, out, |v| match v {
                Value::Bool(b) => Ok(*b),
                _ => Err(muon_result::WrongType),
            })
        }
    })
}

/// Sets the message annotation `key` to `value`, replacing the value of an existing
/// equal key. `key` is a NUL-terminated ASCII symbol (such as `x-opt-jms-dest`).
/// `value` may be of any type.
///
/// `msg` and `key` are borrowed for the call. On success ownership of `value`
/// moves in: do not use or free it afterwards. On any error it stays with the
/// caller, unchanged. Views into the message annotations are invalidated.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key` is not UTF-8), or
/// `MUON_RESULT_INVALID_ARGUMENT` (`key` is not ASCII).
/// `MUON_RESULT_OUT_OF_RANGE` means `value` nests more than 63 levels deep, so
/// that the section would be deeper than muon's decoder accepts. Not
/// thread-safe: use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `value` is NULL or a value the caller owns (not a
/// view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_annotation(
    msg: *mut muon_message,
    key: *const c_char,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set(msg, Section::MessageAnnotations, key, value) }
    })
}

/// The message annotation under the symbol key `key`, as a view borrowed until the
/// message annotations change or `msg` is freed; NULL when there is none, or `msg` or
/// `key` is NULL or `key` is not UTF-8.
///
/// `msg` and `key` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_annotation(
    msg: *const muon_message,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { lookup(msg, Section::MessageAnnotations, key) }
    })
}

/// The number of message annotation entries; 0 when there are none or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_annotation_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::MessageAnnotations) }.len()
    })
}

/// The key of message annotation entry `index`, in wire order, as a view
/// borrowed until the message annotations change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL. Keys set here are symbols;
/// a peer may also send ulong keys (§3.2.10).
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_annotation_key(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::MessageAnnotations) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.0))
    })
}

/// The value of message annotation entry `index`, in wire order, as a view
/// borrowed until the message annotations change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_annotation_value(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::MessageAnnotations) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.1))
    })
}

/// Sets the delivery annotation `key` to `value`, replacing the value of an existing
/// equal key. `key` is a NUL-terminated ASCII symbol.
/// `value` may be of any type.
///
/// `msg` and `key` are borrowed for the call. On success ownership of `value`
/// moves in: do not use or free it afterwards. On any error it stays with the
/// caller, unchanged. Views into the delivery annotations are invalidated.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (`key` is not UTF-8), or
/// `MUON_RESULT_INVALID_ARGUMENT` (`key` is not ASCII).
/// `MUON_RESULT_OUT_OF_RANGE` means `value` nests more than 63 levels deep, so
/// that the section would be deeper than muon's decoder accepts. Not
/// thread-safe: use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `value` is NULL or a value the caller owns (not a
/// view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_delivery_annotation(
    msg: *mut muon_message,
    key: *const c_char,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set(msg, Section::DeliveryAnnotations, key, value) }
    })
}

/// The delivery annotation under the symbol key `key`, as a view borrowed until the
/// delivery annotations change or `msg` is freed; NULL when there is none, or `msg` or
/// `key` is NULL or `key` is not UTF-8.
///
/// `msg` and `key` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_delivery_annotation(
    msg: *const muon_message,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { lookup(msg, Section::DeliveryAnnotations, key) }
    })
}

/// The number of delivery annotation entries; 0 when there are none or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_delivery_annotation_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::DeliveryAnnotations) }.len()
    })
}

/// The key of delivery annotation entry `index`, in wire order, as a view
/// borrowed until the delivery annotations change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL. Keys set here are symbols;
/// a peer may also send ulong keys (§3.2.10).
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_delivery_annotation_key(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::DeliveryAnnotations) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.0))
    })
}

/// The value of delivery annotation entry `index`, in wire order, as a view
/// borrowed until the delivery annotations change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_delivery_annotation_value(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::DeliveryAnnotations) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.1))
    })
}

/// Sets the footer entry `key` to `value`, replacing the value of an existing
/// equal key. `key` is a NUL-terminated ASCII symbol.
/// `value` may be of any type.
///
/// `msg` and `key` are borrowed for the call. On success ownership of `value`
/// moves in: do not use or free it afterwards. On any error it stays with the
/// caller, unchanged. Views into the footer are invalidated. Returns
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`
/// (`key` is not UTF-8), or `MUON_RESULT_INVALID_ARGUMENT` (`key` is not
/// ASCII). `MUON_RESULT_OUT_OF_RANGE` means `value` nests more than 63 levels
/// deep, so that the section would be deeper than muon's decoder accepts. Not
/// thread-safe: use one message from one thread at a time. May be called from a
/// callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string; `value` is NULL or a value the caller owns (not a
/// view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_footer(
    msg: *mut muon_message,
    key: *const c_char,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set(msg, Section::Footer, key, value) }
    })
}

/// The footer entry under the symbol key `key`, as a view borrowed until the
/// footer change or `msg` is freed; NULL when there is none, or `msg` or
/// `key` is NULL or `key` is not UTF-8.
///
/// `msg` and `key` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_footer(
    msg: *const muon_message,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { lookup(msg, Section::Footer, key) }
    })
}

/// The number of footer entry entries; 0 when there are none or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_footer_count(msg: *const muon_message) -> usize {
    boundary!(0, {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::Footer) }.len()
    })
}

/// The key of footer entry entry `index`, in wire order, as a view
/// borrowed until the footer change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL. Keys set here are symbols;
/// a peer may also send ulong keys (§3.2.10).
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_footer_key(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::Footer) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.0))
    })
}

/// The value of footer entry entry `index`, in wire order, as a view
/// borrowed until the footer change or `msg` is freed; NULL when
/// `index` is out of range or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_footer_value(
    msg: *const muon_message,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { entries(msg, Section::Footer) }
            .get(index)
            .map_or(std::ptr::null(), |e| view::<muon_value>(&e.1))
    })
}
