//! The panic boundary and the checks every exported function makes on what
//! C hands it.
//!
//! Opaque C types (`muon_value`, `muon_message`) are zero-sized marker
//! structs that are never created: a `*mut muon_value` is really a
//! `*mut Value<'static>` cast to the marker type, so C sees a distinct,
//! incomplete type and Rust never relies on the marker's layout. [`Opaque`]
//! ties each marker to the Rust type behind it, and the helpers here are the
//! only code that turns such pointers back into references.

use std::ffi::{CStr, c_char};

use super::result::muon_result;

/// Runs an exported function's body inside `catch_unwind`, so that a panic
/// never unwinds into C.
///
/// - `boundary!(result: { ... })`: the body evaluates to
///   `Result<(), muon_result>` (so `?` works on the helpers below); the
///   function returns `MUON_RESULT_OK`, the error, or `MUON_RESULT_PANIC`.
/// - `boundary!(default, { ... })`: the body evaluates to the function's
///   return value; on panic the function returns `default`.
macro_rules! boundary {
    (result: $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::std::result::Result<(), $crate::ffi::result::muon_result> { $body },
        )) {
            Ok(Ok(())) => $crate::ffi::result::muon_result::Ok,
            Ok(Err(e)) => e,
            Err(_) => $crate::ffi::result::muon_result::Panic,
        }
    }};
    ($default:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $default,
        }
    }};
}
pub(crate) use boundary;

/// Links an opaque C marker type to the Rust type its pointers point to.
pub(crate) trait Opaque {
    /// The Rust type behind the pointer.
    type Inner;
}

/// Borrows the object behind `p` for the call.
///
/// # Safety
/// `p` is NULL or points to a live `T::Inner` (made by [`into_raw`] or
/// [`view`]) that nothing mutates for `'a`.
pub(crate) unsafe fn borrow<'a, T: Opaque>(p: *const T) -> Result<&'a T::Inner, muon_result> {
    // SAFETY: the caller promises that a non-NULL `p` came from `into_raw`
    // or `view`, so it points to a live `T::Inner` with no writer for 'a.
    unsafe { p.cast::<T::Inner>().as_ref() }.ok_or(muon_result::NullArgument)
}

/// Borrows the object behind `p` mutably for the call.
///
/// # Safety
/// `p` is NULL or points to a live `T::Inner` made by [`into_raw`], which
/// nothing else reads or writes for `'a`.
pub(crate) unsafe fn borrow_mut<'a, T: Opaque>(p: *mut T) -> Result<&'a mut T::Inner, muon_result> {
    // SAFETY: the caller promises that a non-NULL `p` came from `into_raw`
    // and is not aliased for 'a.
    unsafe { p.cast::<T::Inner>().as_mut() }.ok_or(muon_result::NullArgument)
}

/// Takes ownership of the object behind `p` (the C side's "ownership moves
/// in"): the caller must not use `p` again.
///
/// # Safety
/// `p` is NULL or was returned by [`into_raw`] for this `T` and not freed.
pub(crate) unsafe fn take<T: Opaque>(p: *mut T) -> Result<Box<T::Inner>, muon_result> {
    if p.is_null() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: `p` is non-NULL and, as the caller promises, came from
    // `Box::into_raw` in `into_raw` and has not been freed since.
    Ok(unsafe { Box::from_raw(p.cast::<T::Inner>()) })
}

/// Hands ownership of `b` to C ("ownership moves out").
pub(crate) fn into_raw<T: Opaque>(b: Box<T::Inner>) -> *mut T {
    Box::into_raw(b).cast()
}

/// A borrowed view of `r` for C. The pointer is valid as long as `r` is.
pub(crate) fn view<T: Opaque>(r: &T::Inner) -> *const T {
    (r as *const T::Inner).cast()
}

/// Writes `v` to the out-parameter `out`.
///
/// # Safety
/// `out` is NULL or valid for writing a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, v: T) -> Result<(), muon_result> {
    if out.is_null() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: non-NULL and, as the caller promises, valid for writes. The
    // old contents are C data with no destructor, so they are not dropped.
    unsafe { out.write(v) };
    Ok(())
}

/// Checks that an out-parameter is not NULL, before any side effect.
pub(crate) fn check_out<T>(out: *mut T) -> Result<(), muon_result> {
    if out.is_null() {
        Err(muon_result::NullArgument)
    } else {
        Ok(())
    }
}

/// Borrows a NUL-terminated UTF-8 string for the call.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char) -> Result<&'a str, muon_result> {
    if p.is_null() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: non-NULL and, as the caller promises, NUL-terminated and live.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| muon_result::InvalidUtf8)
}

/// Borrows `len` bytes at `p` for the call. `p` may be NULL when `len` is 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that live for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], muon_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(muon_result::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(muon_result::OutOfRange);
    }
    // SAFETY: non-NULL, `len` fits in isize, and the caller promises `len`
    // readable bytes that outlive 'a.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Copies `src` into the caller's buffer `buf` of `cap` bytes.
///
/// # Safety
/// `buf` is NULL or valid for writing `cap` bytes.
pub(crate) unsafe fn copy_out(src: &[u8], buf: *mut u8, cap: usize) {
    let n = src.len().min(cap);
    if n == 0 || buf.is_null() {
        return;
    }
    // SAFETY: `buf` is non-NULL and valid for `cap >= n` bytes, and cannot
    // overlap `src`, which is Rust-owned memory C has no pointer into
    // except as a read-only view.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), buf, n) };
}

/// Panics inside the boundary, to prove that a panic comes back to C as
/// `MUON_RESULT_PANIC` instead of unwinding into it. Built only with the
/// test-only feature `test-panic`, and kept out of the header.
///
/// # Safety
/// None.
#[cfg(feature = "test-panic")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_test_panic() -> muon_result {
    boundary!(result: {
        let limit = std::hint::black_box(0usize);
        if limit == 0 {
            panic!("muon_test_panic: deliberate panic to test the boundary");
        }
        Ok(())
    })
}
