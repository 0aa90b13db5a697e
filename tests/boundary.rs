//! The panic boundary: a panic inside an exported function comes back as
//! `MUON_RESULT_PANIC`, and the process carries on. Needs the test-only
//! feature: `cargo test --features test-panic` (CI enables it).
#![cfg(feature = "test-panic")]

use std::ffi::{CStr, c_char, c_int};

// Link the library (the rlib carries the exported C functions).
use muon as _;

const MUON_RESULT_OK: c_int = 0;
const MUON_RESULT_PANIC: c_int = 900;

unsafe extern "C" {
    fn muon_test_panic() -> c_int;
    fn muon_result_name(code: c_int) -> *const c_char;
    fn muon_value_null(out: *mut *mut std::ffi::c_void) -> c_int;
    fn muon_value_free(v: *mut std::ffi::c_void);
}

#[test]
fn a_panic_returns_muon_result_panic() {
    // SAFETY: muon_test_panic takes no arguments.
    let rc = unsafe { muon_test_panic() };
    assert_eq!(rc, MUON_RESULT_PANIC);
    // SAFETY: any code is accepted; the result is a static C string.
    let name = unsafe { CStr::from_ptr(muon_result_name(rc)) };
    assert_eq!(name.to_str(), Ok("MUON_RESULT_PANIC"));

    // The library still works after the caught panic.
    let mut v = std::ptr::null_mut();
    // SAFETY: `v` is a valid out-pointer; the value is freed below.
    assert_eq!(unsafe { muon_value_null(&mut v) }, MUON_RESULT_OK);
    assert!(!v.is_null());
    // SAFETY: `v` came from muon_value_null and is freed once.
    unsafe { muon_value_free(v) };
}
