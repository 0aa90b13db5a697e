//! The C API (see include/muon.h). The only module with `unsafe` code.
#![allow(non_camel_case_types)]
