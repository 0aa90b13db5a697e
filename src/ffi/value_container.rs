//! Building compound `muon_value`s: lists, maps, arrays and described
//! values, and adding to them.

use std::borrow::Cow;

use super::boundary::{borrow, borrow_mut, boundary, check_out, take};
use super::result::muon_result;
use super::value::{give, muon_type, muon_type_arg, muon_value};
use crate::codec::{Array, Descriptor, TypeKind, Value};

/// How deeply a value built through this API may nest: as deep as muon's
/// decoder accepts, so that whatever C builds can be read back. This bound
/// also keeps every recursion over a value (format, encode, clone, drop)
/// shallow.
pub(crate) const MAX_NESTING: usize = crate::codec::decode::MAX_DEPTH;

/// The levels of lists, maps, arrays and described values in `v` (0 for a
/// scalar), as the decoder counts them. Values built or decoded here never
/// nest deeper than [`MAX_NESTING`], so the recursion is bounded.
pub(crate) fn nesting(v: &Value<'_>) -> usize {
    let deepest =
        |items: &mut dyn Iterator<Item = &Value<'_>>| items.map(nesting).max().unwrap_or(0);
    match v {
        Value::List(items) => 1 + deepest(&mut items.iter()),
        Value::Map(pairs) => 1 + deepest(&mut pairs.iter().flat_map(|(k, v)| [k, v])),
        Value::Array(a) => 1 + deepest(&mut a.items.iter()),
        Value::Described(b) => 1 + nesting(&b.1),
        _ => 0,
    }
}

/// Refuses a container of `inner` levels that would nest too deeply.
pub(crate) fn check_nesting(inner: usize) -> Result<(), muon_result> {
    if 1 + inner > MAX_NESTING {
        Err(muon_result::OutOfRange)
    } else {
        Ok(())
    }
}

/// Makes an empty list. Add items with `muon_value_list_append`.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_list_new(out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::List(Vec::new())) }
    })
}

/// Makes an empty map. Add entries with `muon_value_map_put`.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_new(out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Map(Vec::new())) }
    })
}

/// Makes an empty array whose elements will all be of type `type`. Add
/// elements with `muon_value_array_append`. Arrays of described values are
/// not built through this API (a decoded one can still be read, encoded and
/// formatted).
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_INVALID_ARGUMENT` when `type` is `MUON_TYPE_NONE`,
/// `MUON_TYPE_DESCRIBED` or no `muon_type` at all. Thread-safe. May be
/// called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_new(
    r#type: muon_type_arg,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        let kind = muon_type::from_arg(r#type)
            .and_then(muon_type::kind)
            .filter(|k| *k != TypeKind::Described)
            .ok_or(muon_result::InvalidArgument)?;
        let array = Value::Array(Array { descriptor: None, kind, items: Vec::new() });
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, array) }
    })
}

/// Makes a described value from a descriptor (a ulong or symbol value)
/// and the value it describes.
///
/// On success ownership of `descriptor` and of `value` moves in: do not use or
/// free either afterwards. On any error both stay with the caller, unchanged.
/// `out` is borrowed for the call and receives the new value only on success:
/// ownership moves out; free with `muon_value_free`. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_TYPE` (descriptor is not a
/// ulong or symbol), or `MUON_RESULT_INVALID_ARGUMENT` (`descriptor` and
/// `value` are the same pointer). `MUON_RESULT_OUT_OF_RANGE` means the result
/// would nest more than 64 levels of lists, maps, arrays and described values,
/// deeper than muon's decoder accepts. Not thread-safe: use one value from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `descriptor` and `value` are NULL or values from this API that the
/// caller owns (not views); `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_new(
    descriptor: *mut muon_value,
    value: *mut muon_value,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        if value.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: `descriptor` is NULL or an owned value, per the contract.
        let d = match unsafe { borrow(descriptor) }? {
            Value::Ulong(code) => Descriptor::Code(*code),
            Value::Symbol(s) => Descriptor::Symbol(Cow::Owned(s.to_string())),
            _ => return Err(muon_result::WrongType),
        };
        if std::ptr::eq(descriptor, value) {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: `value` is an owned value distinct from `descriptor`.
        check_nesting(nesting(unsafe { borrow(value) }?))?;
        // SAFETY: both are distinct owned values (checked above), so taking
        // them frees each exactly once.
        let (taken_descriptor, v) = unsafe { (take(descriptor)?, take(value)?) };
        drop(taken_descriptor);
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Described(Box::new((d, *v)))) }
    })
}

/// Appends `item` to the end of `list`.
///
/// `list` is borrowed for the call. On success ownership of `item` moves in: do
/// not use or free it afterwards. On any error it stays with the caller,
/// unchanged. Views into `list` are invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_TYPE` (`list` is not a
/// list), or `MUON_RESULT_INVALID_ARGUMENT` (`item` is `list` itself).
/// `MUON_RESULT_OUT_OF_RANGE` means the result would nest more than 64 levels
/// of lists, maps, arrays and described values, deeper than muon's decoder
/// accepts. Not thread-safe: use one value from one thread at a time. May be
/// called from a callback.
///
/// # Safety
/// `list` and `item` are NULL or values from this API that the caller
/// owns (not views).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_list_append(
    list: *mut muon_value,
    item: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        if item.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: `list` is NULL or an owned value, per the contract.
        let Value::List(items) = unsafe { borrow_mut(list) }? else {
            return Err(muon_result::WrongType);
        };
        if std::ptr::eq(list, item) {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: `item` is an owned value distinct from `list`; only read.
        check_nesting(nesting(unsafe { borrow(item) }?))?;
        // SAFETY: `item` is an owned value distinct from `list`.
        items.push(*unsafe { take(item) }?);
        Ok(())
    })
}

/// Puts `key` → `value` in `map`. When the map already holds an equal key
/// (same type and contents), that entry's value is replaced and the new
/// key is freed; otherwise the entry is appended, so entries keep the
/// order they were first put in.
///
/// `map` is borrowed for the call. On success ownership of `key` and of `value`
/// moves in: do not use or free either afterwards. On any error both stay with
/// the caller, unchanged. Views into `map` are invalidated. Returns
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_TYPE`
/// (`map` is not a map), or `MUON_RESULT_INVALID_ARGUMENT` (two of the three
/// pointers are equal). `MUON_RESULT_OUT_OF_RANGE` means the result would nest
/// more than 64 levels of lists, maps, arrays and described values, deeper than
/// muon's decoder accepts. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
///
/// # Safety
/// `map`, `key` and `value` are NULL or values from this API that the
/// caller owns (not views).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_put(
    map: *mut muon_value,
    key: *mut muon_value,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        if key.is_null() || value.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: `map` is NULL or an owned value, per the contract.
        let Value::Map(pairs) = unsafe { borrow_mut(map) }? else {
            return Err(muon_result::WrongType);
        };
        if std::ptr::eq(map, key) || std::ptr::eq(map, value) || std::ptr::eq(key, value) {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: distinct owned values (checked above); only read here.
        let (k, v) = unsafe { (borrow(key)?, borrow(value)?) };
        check_nesting(nesting(k).max(nesting(v)))?;
        // SAFETY: three distinct owned values (checked above).
        let (k, v) = unsafe { (*take(key)?, *take(value)?) };
        put(pairs, k, v);
        Ok(())
    })
}

/// Puts `k` → `v` in `pairs`, replacing the value of an equal key.
pub(crate) fn put(
    pairs: &mut Vec<(Value<'static>, Value<'static>)>,
    k: Value<'static>,
    v: Value<'static>,
) {
    match pairs.iter_mut().find(|(old, _)| *old == k) {
        Some((_, old)) => *old = v,
        None => pairs.push((k, v)),
    }
}

/// Appends `item` to the end of `array`. The item must be of the array's
/// element type (`muon_value_array_type`).
///
/// `array` is borrowed for the call. On success ownership of `item` moves in:
/// do not use or free it afterwards. On any error, including
/// `MUON_RESULT_WRONG_TYPE` for an item of another type, it stays with the
/// caller, unchanged, and the caller must still free it. Views into `array` are
/// invalidated. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_WRONG_TYPE` (`array` is not an array, or `item` is not of its
/// element type), or `MUON_RESULT_INVALID_ARGUMENT` (`item` is `array` itself).
/// `MUON_RESULT_OUT_OF_RANGE` means the result would nest more than 64 levels
/// of lists, maps, arrays and described values, deeper than muon's decoder
/// accepts. Not thread-safe: use one value from one thread at a time. May be
/// called from a callback.
///
/// # Safety
/// `array` and `item` are NULL or values from this API that the caller
/// owns (not views).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_append(
    array: *mut muon_value,
    item: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        if item.is_null() {
            return Err(muon_result::NullArgument);
        }
        if std::ptr::eq(array, item) {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: `array` is NULL or an owned value, per the contract.
        let Value::Array(a) = unsafe { borrow_mut(array) }? else {
            return Err(muon_result::WrongType);
        };
        // SAFETY: `item` is an owned value distinct from `array`; it is only
        // read here.
        let item_ref = unsafe { borrow(item) }?;
        if item_ref.kind() != a.kind {
            return Err(muon_result::WrongType);
        }
        check_nesting(nesting(item_ref))?;
        // SAFETY: `item` is an owned value distinct from `array`.
        a.items.push(*unsafe { take(item) }?);
        Ok(())
    })
}
