//! Views into compound `muon_value`s: counts, items, map entries and
//! lookups, array elements, and the parts of described values. Every view
//! is borrowed until the value that owns it is changed or freed.

use std::ffi::c_char;

use super::boundary::{borrow, boundary, cstr, view};
use super::result::muon_result;
use super::value::{muon_type, muon_value};
use super::value_get::{get, muon_bytes};
use crate::codec::{Descriptor, Value};

/// The number of items in a list or array, or of entries (key/value
/// pairs) in a map; 0 for any other value and for NULL.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_len(v: *const muon_value) -> usize {
    boundary!(0, {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::List(items)) => items.len(),
            Ok(Value::Map(pairs)) => pairs.len(),
            Ok(Value::Array(a)) => a.items.len(),
            _ => 0,
        }
    })
}

/// Borrows a view of `r`, or NULL.
fn view_of(r: Option<&Value<'static>>) -> *const muon_value {
    r.map_or(std::ptr::null(), view::<muon_value>)
}

/// The item at `index` of list `v`, as a view borrowed until `v` (or the
/// value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not a list, or `index` is out of range.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_list_get(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::List(items)) => view_of(items.get(index)),
            _ => std::ptr::null(),
        }
    })
}

/// The key of entry `index` of map `v` (entries keep their order), as a
/// view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. NULL when `v` is NULL or not a map, or `index` is out
/// of range.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_key(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Map(pairs)) => view_of(pairs.get(index).map(|(k, _)| k)),
            _ => std::ptr::null(),
        }
    })
}

/// The value of entry `index` of map `v`, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v`
/// is NULL or not a map, or `index` is out of range.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_value(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Map(pairs)) => view_of(pairs.get(index).map(|(_, v)| v)),
            _ => std::ptr::null(),
        }
    })
}

/// Looks up the value under a key for which `matches` holds.
///
/// # Safety
/// `v` is NULL or live; `key` is NULL or NUL-terminated.
unsafe fn map_lookup(
    v: *const muon_value,
    key: *const c_char,
    matches: impl Fn(&Value<'static>, &str) -> bool,
) -> *const muon_value {
    // SAFETY: forwarded from the caller.
    let (Ok(Value::Map(pairs)), Ok(key)) = (unsafe { borrow(v) }, unsafe { cstr(key) }) else {
        return std::ptr::null();
    };
    view_of(pairs.iter().find(|(k, _)| matches(k, key)).map(|(_, v)| v))
}

/// The value under the string key `key` in map `v` (the first such entry),
/// as a view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. A symbol key does not match. NULL when `v` is NULL or
/// not a map, `key` is NULL or not UTF-8, or there is no such key.
///
/// `v` and `key` are borrowed for the call. Not thread-safe: use one value from
/// one thread at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_get_string_key(
    v: *const muon_value,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { map_lookup(v, key, |k, key| matches!(k, Value::String(s) if s == key)) }
    })
}

/// The value under the symbol key `key` in map `v` (the first such entry),
/// as a view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. A string key does not match. NULL when `v` is NULL or
/// not a map, `key` is NULL or not UTF-8, or there is no such key.
///
/// `v` and `key` are borrowed for the call. Not thread-safe: use one value from
/// one thread at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_get_symbol_key(
    v: *const muon_value,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { map_lookup(v, key, |k, key| matches!(k, Value::Symbol(s) if s == key)) }
    })
}

/// The element type of array `v`, or `MUON_TYPE_NONE` when `v` is NULL
/// or not an array.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_type(v: *const muon_value) -> muon_type {
    boundary!(muon_type::None, {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Array(a)) => a.kind.into(),
            _ => muon_type::None,
        }
    })
}

/// The element at `index` of array `v`, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not an array, or `index` is out of range.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_get(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Array(a)) => view_of(a.items.get(index)),
            _ => std::ptr::null(),
        }
    })
}

/// Reads the descriptor of a described value when it is numeric (a ulong).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) when `v` is not described or its
/// descriptor is a symbol. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_descriptor_code(
    v: *const muon_value,
    out: *mut u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Described(b) => match &b.0 {
                    Descriptor::Code(c) => Some(*c),
                    Descriptor::Symbol(_) => None,
                },
                _ => None,
            })
        }
    })
}

/// Reads the descriptor of a described value when it is a symbol, as a
/// view of its ASCII bytes (not NUL-terminated).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes are borrowed until `v` (or the value or message
/// that owns it) is changed or freed. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched)
/// when `v` is not described or its descriptor is numeric. Not thread-safe: use
/// one value from one thread at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_descriptor_symbol(
    v: *const muon_value,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Described(b) => match &b.0 {
                    Descriptor::Symbol(s) => Some(muon_bytes::of(s.as_bytes())),
                    Descriptor::Code(_) => None,
                },
                _ => None,
            })
        }
    })
}

/// The value a described value describes, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not described.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_value(v: *const muon_value) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Described(b)) => view::<muon_value>(&b.1),
            _ => std::ptr::null(),
        }
    })
}
