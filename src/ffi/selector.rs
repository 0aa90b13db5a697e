//! `muon_selector`: a JMS message selector, parsed once and matched
//! against messages, for servers that honour the
//! `apache.org:selector-filter:string` source filter (see
//! `crate::selector` for the grammar subset and the header mapping).

use std::ffi::{CString, c_char};

use super::boundary::{Opaque, borrow, boundary, bytes, into_raw, take, view, write};
use super::message::muon_message;
use super::result::muon_result;
use super::url::set_last_error;
use super::value::muon_value;
use crate::codec::Value;
use crate::codec::value::Descriptor;
use crate::selector::Selector;

/// The descriptor symbol of a JMS selector filter.
const SELECTOR_SYMBOL: &str = "apache.org:selector-filter:string";
/// The same descriptor as a number (domain 0x0000468C, id 4).
const SELECTOR_CODE: u64 = 0x0000_468C_0000_0004;
/// The filter-set key `muon_selector_new` answers with.
const DEFAULT_KEY: &str = "jms-selector";

/// A parsed JMS message selector (a documented subset of the JMS 2.0
/// selector grammar), to match messages against: what a server needs to
/// honour a receiver's `apache.org:selector-filter:string` source filter.
///
/// The subset: string literals in single quotes (`''` is a quote), exact
/// numbers (`42`, `0x1F`, `42L`), approximate numbers (`1.5`, `2e3`,
/// `1.5F`), `TRUE`, `FALSE`; identifiers; `=`, `<>`, `<`, `<=`, `>`, `>=`;
/// `+`, `-`, `*`, `/`, unary `-`; `AND`, `OR`, `NOT`, parentheses;
/// `x [NOT] BETWEEN a AND b`; `x [NOT] IN ('a', 'b')` (string or number
/// literals); `x [NOT] LIKE 'pat' [ESCAPE 'c']` (`%` any text, `_` one
/// character); `x IS [NOT] NULL`. Keywords are case-insensitive. At most
/// 16 KiB of text and 100 levels of nesting (operator chains count).
///
/// Identifiers: the JMS header names map to the AMQP message as
/// ActiveMQ's AMQP mapping does: `JMSMessageID` the message-id,
/// `JMSCorrelationID` the correlation-id (a string id as is; a ulong,
/// uuid or binary id as text), `JMSType` the subject, `JMSPriority` the
/// priority (4 when the header is absent), `JMSDeliveryMode`
/// `'PERSISTENT'` (durable) or `'NON_PERSISTENT'`, `JMSTimestamp` the
/// creation-time and `JMSExpiration` the absolute-expiry-time
/// (milliseconds since the Unix epoch, NULL when absent),
/// `JMSDestination` the to field, `JMSReplyTo` the reply-to,
/// `JMSXUserID` the user-id, `JMSXGroupID` the group-id, `JMSXGroupSeq`
/// the group-sequence, `JMSXDeliveryCount` the delivery-count plus one.
/// Any other identifier is an application property: booleans, integers,
/// timestamps (milliseconds), floats, doubles, strings, symbols and chars
/// have values; other types and absent keys are NULL.
///
/// Matching follows SQL's three-valued logic, as JMS says: a comparison
/// with a NULL operand, or between types that do not compare (a string
/// and a number; strings and booleans compare only with `=` and `<>`), is
/// unknown; `NOT` unknown is unknown; a message matches only when the
/// selector is true.
///
/// Owned by the application: made by `muon_selector_new` or
/// `muon_selector_from_filter`, freed with `muon_selector_free`. Plain
/// data: it may move between threads, but not be used from two at once.
///
/// Functions: `muon_selector_new`, `muon_selector_from_filter`,
/// `muon_selector_matches`, `muon_selector_text`, `muon_selector_filter`,
/// `muon_selector_free`.
pub struct muon_selector {
    _private: [u8; 0],
}

/// What a `muon_selector *` points to.
pub(crate) struct SelectorBox {
    sel: Selector,
    text: CString,
    /// The filter set to answer with: one entry, the selector.
    filter: Value<'static>,
}

impl Opaque for muon_selector {
    type Inner = SelectorBox;
}

/// Parses `text` into a box answering with `filter`, or sets
/// `muon_last_error` and returns INVALID_ARGUMENT.
fn make(
    text: &str,
    key: Value<'static>,
    descriptor: Descriptor<'static>,
) -> Result<SelectorBox, muon_result> {
    match Selector::parse(text) {
        Ok(sel) => {
            set_last_error(None);
            let filter = Value::Map(vec![(
                key,
                Value::Described(Box::new((
                    descriptor,
                    Value::String(text.to_owned().into()),
                ))),
            )]);
            Ok(SelectorBox {
                text: CString::new(text).map_err(|_| muon_result::InvalidArgument)?,
                sel,
                filter,
            })
        }
        Err(e) => {
            set_last_error(Some(e.to_string()));
            Err(muon_result::InvalidArgument)
        }
    }
}

/// Parses the `len` bytes at `text` (UTF-8, no NUL needed) as a JMS
/// message selector, e.g. `colour = 'red' AND weight > 10` (the grammar
/// subset and the mapping of JMS header names are in `muon_selector`'s
/// documentation).
///
/// On success `*out` receives a new selector (ownership moves out: free it
/// with `muon_selector_free`), whose `muon_selector_filter` is the filter
/// set `{jms-selector: apache.org:selector-filter:string(text)}`, and
/// `muon_last_error` is cleared. Text the subset does not support returns
/// `MUON_RESULT_INVALID_ARGUMENT` and `muon_last_error()` says where and
/// why, e.g. `invalid selector at column 8: expected an identifier, a
/// literal or '(', found '='`. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`text` or `out` NULL, also when `len` is 0),
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT`,
/// `MUON_RESULT_PANIC`; `out` is written only on success. Thread-safe (it
/// touches no loop); may be called from a callback.
///
/// # Safety
/// `text` is NULL or points to `len` readable bytes; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_new(
    text: *const c_char,
    len: usize,
    out: *mut *mut muon_selector,
) -> muon_result {
    boundary!(result: {
        if out.is_null() || text.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: the caller promises NULL or `len` readable bytes.
        let raw = unsafe { bytes(text.cast::<u8>(), len) }?;
        let text = std::str::from_utf8(raw).map_err(|_| muon_result::InvalidUtf8)?;
        if text.contains('\0') {
            set_last_error(Some("invalid selector: it contains a NUL character".to_owned()));
            return Err(muon_result::InvalidArgument);
        }
        let b = make(
            text,
            Value::Symbol(DEFAULT_KEY.into()),
            Descriptor::Symbol(SELECTOR_SYMBOL.into()),
        )?;
        // SAFETY: checked non-NULL above; the caller promises it is writable.
        unsafe { write(out, into_raw::<muon_selector>(Box::new(b))) }
    })
}

/// Finds the JMS selector in a source's filter set `filter` (a map, such
/// as `muon_terminus_filter` of `muon_sender_remote_source` returns in
/// `on_link_remote_attach`): the entry whose value is a string (a symbol
/// is taken too) described by the symbol
/// `apache.org:selector-filter:string` or the code 0x0000468C00000004,
/// under any key; and parses it as
/// `muon_selector_new` does.
///
/// On success `*out` receives a new selector (free it with
/// `muon_selector_free`) whose `muon_selector_filter` is that one entry,
/// key and descriptor as the peer sent them: what a server answers with
/// (`muon_sender_set_source_filter`) to say the selector is in force.
/// Results: `MUON_RESULT_OK`; `MUON_RESULT_NOT_FOUND` (no selector entry:
/// the receiver asked for no selector); `MUON_RESULT_WRONG_TYPE` (`filter`
/// is not a map, or the selector entry does not describe a string);
/// `MUON_RESULT_INVALID_ARGUMENT` (the selector is not supported:
/// `muon_last_error()` says where and why, see `muon_selector_new`);
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. `out` is written only
/// on success; `muon_last_error` is cleared on success and says why on
/// the other results but NULL_ARGUMENT and PANIC. Other entries of the filter set are ignored: a server must
/// not answer with filters it does not apply. Thread-safe for a value no
/// other thread changes; may be called from a callback.
///
/// # Safety
/// `filter` is NULL or a live value (owned or a view); `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_from_filter(
    filter: *const muon_value,
    out: *mut *mut muon_selector,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises NULL or a live value.
        let filter = unsafe { borrow(filter) }?;
        if out.is_null() {
            return Err(muon_result::NullArgument);
        }
        let fail = |code: muon_result, why: &str| {
            set_last_error(Some(why.to_owned()));
            Err(code)
        };
        let Value::Map(entries) = filter else {
            return fail(muon_result::WrongType, "the filter set is not a map");
        };
        let found = entries.iter().find_map(|(k, v)| match v {
            Value::Described(d) => match &d.0 {
                Descriptor::Symbol(s) if s == SELECTOR_SYMBOL => Some((k, d)),
                Descriptor::Code(SELECTOR_CODE) => Some((k, d)),
                _ => None,
            },
            _ => None,
        });
        let Some((key, d)) = found else {
            return fail(muon_result::NotFound, "the filter set has no selector");
        };
        let (Value::String(text) | Value::Symbol(text)) = &d.1 else {
            return fail(muon_result::WrongType, "the selector filter does not describe a string");
        };
        if text.contains('\0') {
            set_last_error(Some("invalid selector: it contains a NUL character".to_owned()));
            return Err(muon_result::InvalidArgument);
        }
        let b = make(text, key.clone().into_owned(), d.0.clone().into_owned())?;
        // SAFETY: checked non-NULL above; the caller promises it is writable.
        unsafe { write(out, into_raw::<muon_selector>(Box::new(b))) }
    })
}

/// Whether `msg` matches `sel`: `*out` is true when the selector is true
/// for the message, false when it is false or unknown (three-valued
/// logic; see `muon_selector`). Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (any argument NULL; `out` untouched),
/// `MUON_RESULT_PANIC`. Not thread-safe for one selector or message; may
/// be called from a callback (a message handed to `on_message` included).
///
/// # Safety
/// `sel` is NULL or a live selector; `msg` is NULL or a live message;
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_matches(
    sel: *const muon_selector,
    msg: *const muon_message,
    out: *mut bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises NULL or a live selector.
        let s = unsafe { borrow(sel) }?;
        // SAFETY: the caller promises NULL or a live message.
        let m = unsafe { borrow(msg) }?;
        if out.is_null() {
            return Err(muon_result::NullArgument);
        }
        let r = s.sel.matches(m.msg());
        // SAFETY: checked non-NULL above; the caller promises it is writable.
        unsafe { write(out, r) }
    })
}

/// The selector's text, NUL-terminated; NULL for NULL. Borrowed until
/// `sel` is freed. Not thread-safe for one selector; may be called from a
/// callback.
///
/// # Safety
/// `sel` is NULL or a live selector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_text(sel: *const muon_selector) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises NULL or a live selector.
        unsafe { borrow(sel) }.map_or(std::ptr::null(), |s| s.text.as_ptr())
    })
}

/// The filter set that says this selector is in force: a map with one
/// entry, the selector as a string described by its filter descriptor
/// (for a selector from `muon_selector_from_filter`, the key and
/// descriptor the peer used). A server passes it to
/// `muon_sender_set_source_filter` in `on_link_remote_attach` (which
/// copies it). A view borrowed until `sel` is freed; NULL for NULL. Not
/// thread-safe for one selector; may be called from a callback.
///
/// # Safety
/// `sel` is NULL or a live selector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_filter(sel: *const muon_selector) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises NULL or a live selector.
        unsafe { borrow(sel) }.map_or(std::ptr::null(), |s| view::<muon_value>(&s.filter))
    })
}

/// Frees a selector; NULL is ignored. Its text and filter views are
/// invalid afterwards. Not thread-safe for one selector; may be called
/// from a callback.
///
/// # Safety
/// `sel` is NULL or a selector not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_selector_free(sel: *mut muon_selector) {
    boundary!((), {
        // SAFETY: the caller promises NULL or a live selector, not used again.
        drop(unsafe { take(sel) });
    })
}
