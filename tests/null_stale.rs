//! Every function of `include/muon.h` survives NULL, null, stale, foreign
//! and wrong-thread arguments. The test is generated from the header at
//! test time (cbindgen writes one declaration per function, after its doc
//! comment), so a new function is covered the day it is added: a C program
//! calls each function
//!
//! - with every pointer NULL and every handle zeroed (`all-null`);
//! - with one required pointer NULL and every other argument valid
//!   (`null:<param>`), for each pointer its doc comment does not allow to
//!   be NULL;
//! - with each handle parameter in turn (every other argument valid) set
//!   to the null handle (`zero:<param>`), a stale handle (`stale:<param>`:
//!   its object had its final event: a closed connection's connection,
//!   links and delivery, a closed listener, a fired timer), a live
//!   object's handle with another live loop as its owner
//!   (`foreign:<param>`), and, from a thread that does not own the loop, a
//!   live handle (`thread:<param>`, also for `muon_loop *` parameters);
//!
//! and checks what comes back: a function returning `muon_result` must
//! return `MUON_RESULT_NULL_ARGUMENT` (NULL pointer or null handle),
//! `MUON_RESULT_STALE_HANDLE` (stale or foreign handle) or
//! `MUON_RESULT_WRONG_THREAD` (another thread), and leave its `out`
//! parameter untouched; any other function must return its default (NULL,
//! false, 0, the `NONE` enumerator, the null handle). (A handle carries its
//! loop, so there is no "wrong loop" error: a handle used with another loop
//! is one whose owner field names that loop, the foreign case.) The
//! program runs under AddressSanitizer and UndefinedBehaviorSanitizer when
//! the compiler has them (CI requires them: MUON_REQUIRE_ASAN,
//! MUON_REQUIRE_UBSAN), so a crash, a bad access or a leak fails the test
//! too.
//!
//! Three tables say where the general rule does not apply, each entry with
//! its reason: `NO_HANDLE_OR_POINTER` (functions with nothing to pass NULL
//! or a stale handle to), `OPTIONAL` (pointer parameters the doc comments
//! allow to be NULL in words the scan in `optional_params` does not
//! recognise) and `EXPECTED` (calls whose documented answer is another).
//! A parameter or return type the generator does not know fails the test
//! with a message saying so.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{lib_dir, manifest_dir, out_dir};

/// Functions without a handle or pointer parameter: nothing to pass NULL
/// or a stale handle to.
const NO_HANDLE_OR_POINTER: &[(&str, &str)] = &[
    (
        "muon_signal_count",
        "takes a signal number; any number is answered (0 for one that is no signal); \
         examples-c/broker.c uses it and tests/ops.rs signals the broker",
    ),
    (
        "muon_last_error",
        "takes nothing: the calling thread's last error (tests/c/api_url.c checks it)",
    ),
    (
        "muon_result_name",
        "takes a result code; any number is answered (`tests/c/values.c` checks an unknown one)",
    ),
    (
        "muon_result_message",
        "takes a result code; any number is answered (`tests/c/values.c` checks an unknown one)",
    ),
];

/// Pointer parameters that may be NULL, in words the doc scan (see
/// `optional_params`) does not match: (function, parameter, reason).
const OPTIONAL: &[(&str, &str, &str)] = &[
    (
        "muon_set_log_callback",
        "cb",
        "\"NULL sends them back to standard error\"",
    ),
    (
        "muon_set_log_callback",
        "context",
        "the application's, passed to the callback as it is",
    ),
    (
        "muon_sender_set_source_filter",
        "filter",
        "NULL answers with no filter",
    ),
    (
        "muon_link_options_set_filter",
        "filter",
        "NULL removes the filter",
    ),
    (
        "muon_delivery_reject",
        "description",
        "a condition's description is optional (`name` NULL: no condition at all)",
    ),
    (
        "muon_loop_listen",
        "options",
        "\"`options` (TLS, SASL, limits, capabilities, handshake; may be NULL)\"",
    ),
    (
        "muon_loop_listen",
        "handler",
        "events go to the connection's handler, \"else to `handler`, else the loop's default\"",
    ),
    (
        "muon_loop_schedule",
        "handler",
        "\"if `handler` is NULL, the loop's default handler\" gets the timer",
    ),
    (
        "muon_connection_open_sender",
        "address",
        "\"NULL `address`: no target address\"",
    ),
    (
        "muon_connection_open_receiver",
        "address",
        "NULL: no source address (with the dynamic option the peer makes one)",
    ),
    (
        "muon_connection_open_receiver",
        "options",
        "\"Ownership and results as `muon_connection_open_sender`\": may be NULL",
    ),
    (
        "muon_connection_open_receiver",
        "handler",
        "\"Ownership and results as `muon_connection_open_sender`\": may be NULL",
    ),
    (
        "muon_receiver_set_handler",
        "handler",
        "\"see `muon_sender_set_handler`\": NULL removes it",
    ),
    (
        "muon_receiver_close_with",
        "description",
        "\"see `muon_sender_close_with`\": `description` may be NULL",
    ),
    (
        "muon_receiver_close_with_info",
        "description",
        "as `muon_sender_close_with_info`: `description` may be NULL",
    ),
    (
        "muon_receiver_close_with_info",
        "info",
        "as `muon_sender_close_with_info`: `info` may be NULL (none)",
    ),
    (
        "muon_link_options_set_properties",
        "value",
        "\"(NULL: none)\"",
    ),
    (
        "muon_connection_options_set_properties",
        "value",
        "\"(NULL: none)\"",
    ),
    ("muon_message_set_id", "value", "\"NULL removes it\""),
    (
        "muon_message_set_correlation_id",
        "value",
        "\"NULL removes it\"",
    ),
    (
        "muon_message_set_user_id",
        "ptr",
        "\"a NULL `ptr` removes it\"",
    ),
    (
        "muon_connection_sasl_scram_credentials",
        "credentials",
        "\"NULL means no such user\"",
    ),
    (
        "muon_event_transaction_id",
        "buf",
        "\"`buf` may be NULL when `cap` is 0\"; NULL is not written (and the generator has \
         no live event to pass with it)",
    ),
    (
        "muon_loop_set_log",
        "log",
        "\"NULL sends them back to standard error\"",
    ),
];

/// Calls whose documented answer is not the general rule: (function,
/// variant, the C expression the answer must equal, reason).
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    (
        "muon_message_priority",
        "all-null",
        "4",
        "\"4, the AMQP default, when `msg` is NULL\"",
    ),
    (
        "muon_terminus_expiry_policy",
        "all-null",
        "MUON_EXPIRY_POLICY_SESSION_END",
        "\"`MUON_EXPIRY_POLICY_SESSION_END`, the AMQP default, for NULL\"",
    ),
    (
        "muon_scram_hash_password",
        "null:buf",
        "MUON_RESULT_BUFFER_TOO_SMALL",
        "`buf` \"is NULL or valid for writing `cap` bytes\": NULL has room for nothing, \
         and `len` receives the capacity needed",
    ),
    (
        "muon_delivery_tag",
        "null:buf",
        "1",
        "the tag's whole length (the live delivery's tag is 1 byte); `buf` \"is NULL or \
         valid for writing `cap` bytes\" and NULL is not written",
    ),
    (
        "muon_transaction_id",
        "null:buf",
        "1",
        "the id's whole length (the live transaction's id is 1 byte); `buf` \"is NULL or \
         valid for writing `cap` bytes\" and NULL is not written",
    ),
    (
        "muon_value_format",
        "null:buf",
        "1",
        "like `snprintf`, the length of the full text (`s`, 1) whatever the buffer",
    ),
    (
        "muon_loop_wake_on_signal",
        "thread:lp",
        "MUON_RESULT_OK",
        "thread-safe: touches only the loop's wake-up, as muon_loop_wake",
    ),
    (
        "muon_set_log_callback",
        "all-null",
        "MUON_RESULT_OK",
        "a NULL callback is the documented reset (messages back to standard error); \
         tests/c/ops_log.c checks it",
    ),
    (
        "muon_loop_wake",
        "thread:lp",
        "MUON_RESULT_OK",
        "thread-safe: may be called from any thread",
    ),
    (
        "muon_loop_post",
        "thread:lp",
        "MUON_RESULT_OK",
        "thread-safe: may be called from any thread",
    ),
];

/// One parameter of a declaration.
#[derive(Debug, Clone)]
struct Param {
    ty: String,
    name: String,
}

/// One function of the header.
#[derive(Debug, Clone)]
struct Func {
    name: String,
    ret: String,
    params: Vec<Param>,
    doc: String,
}

const HANDLES: [&str; 7] = [
    "connection",
    "listener",
    "sender",
    "receiver",
    "delivery",
    "timer",
    "transaction",
];

/// The handle kind of a by-value handle type (`struct muon_sender`).
fn handle_kind(ty: &str) -> Option<&'static str> {
    let rest = ty.strip_prefix("struct muon_")?;
    HANDLES.iter().copied().find(|h| *h == rest)
}

fn is_pointer(ty: &str) -> bool {
    ty.ends_with('*') || ty == "muon_post_fn" || ty == "muon_log_fn" || ty == "muon_log_callback"
}

/// Reads every function declaration of the header, with its doc comment.
fn parse_header(text: &str) -> Vec<Func> {
    let mut funcs = Vec::new();
    let mut doc = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("/**") {
            doc.clear();
            let mut l = line;
            loop {
                doc.push_str(
                    l.trim_start()
                        .trim_start_matches("/**")
                        .trim_start_matches('*'),
                );
                doc.push(' ');
                if l.contains("*/") {
                    break;
                }
                match lines.next() {
                    Some(next) => l = next,
                    None => break,
                }
            }
            continue;
        }
        if line.starts_with([' ', '#', '/', '}', '{']) || !line.contains("muon_") {
            continue;
        }
        let Some(paren) = line.find('(') else {
            continue;
        };
        let head = &line[..paren];
        let Some(name) = head
            .rsplit([' ', '*'])
            .next()
            .filter(|n| n.starts_with("muon_"))
        else {
            continue;
        };
        if head.starts_with("typedef") {
            continue;
        }
        let mut decl = line.to_string();
        while !decl.contains(';') {
            match lines.next() {
                Some(next) => {
                    decl.push(' ');
                    decl.push_str(next.trim());
                }
                None => break,
            }
        }
        let ret = head[..head.len() - name.len()].trim().to_string();
        let inner = &decl[decl.find('(').expect("(") + 1..decl.rfind(')').expect(")")];
        let params = inner
            .split(',')
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty() && p != "void")
            .map(|p| {
                let split = p.rfind([' ', '*']).expect("a parameter name") + 1;
                Param {
                    ty: p[..split].trim().to_string(),
                    name: p[split..].to_string(),
                }
            })
            .collect();
        funcs.push(Func {
            name: name.to_string(),
            ret,
            params,
            doc: std::mem::take(&mut doc),
        });
    }
    funcs
}

/// The pointer parameters the doc comment allows to be NULL.
fn optional_params(f: &Func) -> Vec<String> {
    let doc = f.doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    for p in &f.params {
        if !is_pointer(&p.ty) {
            continue;
        }
        let n = format!("`{}`", p.name);
        let says = |tail: &str| {
            doc.match_indices(&format!("{n}{tail}"))
                .any(|(i, m)| !doc[i + m.len()..].starts_with(" when"))
        };
        let optional = p.ty == "void *"
            || says(" (may be NULL")
            || says(" (copied; may be NULL")
            || says(" may be NULL")
            || says(" is copied; NULL removes")
            || says("; NULL removes")
            || says(" NULL: none")
            || OPTIONAL
                .iter()
                .any(|(func, param, _)| *func == f.name && *param == p.name);
        if optional {
            out.push(p.name.clone());
        }
    }
    out
}

/// How one call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant<'a> {
    AllNull,
    NullPtr(&'a str),
    Zero(&'a str),
    Stale(&'a str),
    Foreign(&'a str),
    Thread(&'a str),
}

impl Variant<'_> {
    fn label(&self) -> String {
        match self {
            Variant::AllNull => "all-null".into(),
            Variant::NullPtr(p) => format!("null:{p}"),
            Variant::Zero(p) => format!("zero:{p}"),
            Variant::Stale(p) => format!("stale:{p}"),
            Variant::Foreign(p) => format!("foreign:{p}"),
            Variant::Thread(p) => format!("thread:{p}"),
        }
    }
}

/// A string argument that is valid where the parameter's name says what
/// it is.
fn valid_string(f: &str, p: &str) -> String {
    let s = match p {
        "url" => "amqp://127.0.0.1:1",
        "address" if f == "muon_loop_listen" => "127.0.0.1:0",
        "address" => "q",
        "name" => "amqp:internal-error",
        "mechanisms" => "ANONYMOUS",
        "mechanism" => "SCRAM-SHA-256",
        "mode" => "move",
        "credentials" => return "CREDENTIALS".into(),
        "path" | "cert_path" | "key_path" => "/nonexistent/muon-null-stale",
        _ => "x",
    };
    format!("\"{s}\"")
}

/// A fresh value of the type the function works on (for `const muon_value
/// *` and owned `muon_value *` parameters).
fn value_ctor(f: &str, p: &str) -> &'static str {
    let kind = match p {
        "list" => "list",
        "map" => "map",
        "array" => "array",
        "descriptor" => "ulong",
        "info" => "fields",
        _ if f.ends_with("_properties") => "fields",
        _ => {
            let rest = f.trim_start_matches("muon_value_");
            let rest = rest.trim_start_matches("get_");
            [
                "list",
                "map",
                "array",
                "described",
                "bool",
                "ubyte",
                "ushort",
                "uint",
                "ulong",
                "byte",
                "short",
                "int",
                "long",
                "float",
                "double",
                "decimal32",
                "decimal64",
                "decimal128",
                "char",
                "timestamp",
                "uuid",
                "binary",
                "string",
                "symbol",
            ]
            .into_iter()
            .find(|k| f.starts_with("muon_value_") && rest.starts_with(k))
            .unwrap_or(if f.contains("properties") || f.ends_with("_info") {
                "map"
            } else {
                "string"
            })
        }
    };
    match kind {
        "list" => "make_list()",
        "map" => "make_map()",
        "fields" => "make_fields()",
        "array" => "make_array()",
        "described" => "make_described()",
        "bool" => "make_v(muon_value_bool(true, &v_))",
        "ubyte" => "make_v(muon_value_ubyte(1, &v_))",
        "ushort" => "make_v(muon_value_ushort(1, &v_))",
        "uint" => "make_v(muon_value_uint(1, &v_))",
        "ulong" => "make_v(muon_value_ulong(0x70, &v_))",
        "byte" => "make_v(muon_value_byte(1, &v_))",
        "short" => "make_v(muon_value_short(1, &v_))",
        "int" => "make_v(muon_value_int(1, &v_))",
        "long" => "make_v(muon_value_long(1, &v_))",
        "float" => "make_v(muon_value_float(1, &v_))",
        "double" => "make_v(muon_value_double(1, &v_))",
        "decimal32" => "make_v(muon_value_decimal32(1, &v_))",
        "decimal64" => "make_v(muon_value_decimal64(1, &v_))",
        "decimal128" => "make_v(muon_value_decimal128(ZEROS, &v_))",
        "char" => "make_v(muon_value_char(65, &v_))",
        "timestamp" => "make_v(muon_value_timestamp(1, &v_))",
        "uuid" => "make_v(muon_value_uuid(ZEROS, &v_))",
        "binary" => "make_v(muon_value_binary(ZEROS, 2, &v_))",
        "symbol" => "make_v(muon_value_symbol(\"s\", &v_))",
        _ => "make_v(muon_value_string(\"s\", &v_))",
    }
}

/// Builds the C block of one call.
struct Call {
    pre: String,
    post: String,
    /// Out-parameters to find untouched on an error: (C name, size).
    outs: Vec<String>,
    n: usize,
}

impl Call {
    fn var(&mut self, decl: &str) -> String {
        self.n += 1;
        let name = format!("a{}", self.n);
        writeln!(self.pre, "    {}", decl.replace("$", &name)).unwrap();
        name
    }

    /// A valid argument for parameter `p` of `f`, for a call on the live
    /// fixture.
    fn valid(&mut self, f: &Func, p: &Param) -> String {
        let ty = p.ty.as_str();
        if let Some(h) = handle_kind(ty) {
            return format!("LIVE_{}", h.to_uppercase());
        }
        if (p.name == "out" || p.name == "len") && ty.ends_with('*') && !ty.starts_with("const") {
            let v = self.var("OUT_STORAGE($);");
            self.outs.push(v.clone());
            return format!("({ty})(void *){v}");
        }
        match ty {
            "struct muon_loop *" => "A".into(),
            "const struct muon_connection_options *" | "struct muon_connection_options *" => {
                let v = self.var("struct muon_connection_options *$ = NULL;");
                writeln!(self.pre, "    CHECK(muon_connection_options_new(&{v}));").unwrap();
                writeln!(self.post, "    muon_connection_options_free({v});").unwrap();
                v
            }
            "const struct muon_link_options *" | "struct muon_link_options *" => {
                let v = self.var("struct muon_link_options *$ = NULL;");
                writeln!(self.pre, "    CHECK(muon_link_options_new(&{v}));").unwrap();
                writeln!(self.post, "    muon_link_options_free({v});").unwrap();
                v
            }
            "const struct muon_selector *" | "struct muon_selector *" => {
                let v = self.var("struct muon_selector *$ = NULL;");
                writeln!(
                    self.pre,
                    "    CHECK(muon_selector_new(\"a = 1\", 5, &{v}));"
                )
                .unwrap();
                writeln!(self.post, "    muon_selector_free({v});").unwrap();
                v
            }
            "const struct muon_message *" | "struct muon_message *" => {
                let v = self.var("struct muon_message *$ = make_message();");
                writeln!(self.post, "    muon_message_free({v});").unwrap();
                v
            }
            "const struct muon_value *" => {
                let v = self.var(&format!(
                    "struct muon_value *$ = {};",
                    value_ctor(&f.name, &p.name)
                ));
                writeln!(self.post, "    muon_value_free({v});").unwrap();
                v
            }
            "struct muon_value *" => {
                // Ownership moves in on success only: freed here when the
                // call failed (as every call here should).
                let v = self.var(&format!(
                    "struct muon_value *$ = {};",
                    value_ctor(&f.name, &p.name)
                ));
                writeln!(self.post, "    if (!succeeded_) muon_value_free({v});").unwrap();
                v
            }
            "const struct muon_driver *" | "struct muon_driver *" => {
                // A driver with a loop of its own, freed with it.
                let v = self.var("struct muon_driver *$ = make_driver();");
                writeln!(self.post, "    muon_driver_free({v});").unwrap();
                v
            }
            // muon_driver_write_buffer's `bytes`: an out-parameter.
            "const uint8_t **" => {
                let v = self.var("OUT_STORAGE($);");
                self.outs.push(v.clone());
                format!("({ty})(void *){v}")
            }
            "const struct muon_terminus *" => "LIVE_TERMINUS".into(),
            "const struct muon_handler *" => "&HANDLER".into(),
            "void *" => "NULL".into(),
            "muon_post_fn" => "post_noop".into(),
            "muon_log_fn" => "log_noop".into(),
            "muon_log_callback" => "log_callback_noop".into(),
            "const char *" => valid_string(&f.name, &p.name),
            "char *" => self.var("char $[64] = {0};"),
            "uint8_t *" => self.var("uint8_t $[64] = {0};"),
            "const uint8_t *" => match f.name.as_str() {
                "muon_message_decode" => "MESSAGE_BYTES".into(),
                "muon_value_decode" => "VALUE_BYTES".into(),
                _ => "ZEROS".into(),
            },
            "size_t" => match (f.name.as_str(), p.name.as_str()) {
                ("muon_message_decode", "len") => "sizeof MESSAGE_BYTES".into(),
                ("muon_value_decode", "len") => "sizeof VALUE_BYTES".into(),
                ("muon_selector_new", "len") => "1".into(),
                (_, "index" | "section") => "0".into(),
                _ => "16".into(),
            },
            "bool" => "false".into(),
            "uint8_t" | "uint16_t" | "int8_t" | "int16_t" | "int32_t" | "int64_t" => "1".into(),
            "uint32_t" => match p.name.as_str() {
                "iterations" => "4096".into(),
                "code_point" => "65".into(),
                _ => "1".into(),
            },
            "uint64_t" => "1000000".into(),
            "float" | "double" => "1.0".into(),
            "enum muon_type" => "MUON_TYPE_INT".into(),
            "enum muon_durability" => "MUON_DURABILITY_NONE".into(),
            "enum muon_expiry_policy" => "MUON_EXPIRY_POLICY_NEVER".into(),
            "int" => "15".into(), // a signal number (SIGTERM), for muon_loop_wake_on_signal
            "enum muon_result" => "MUON_RESULT_OK".into(),
            // Any other out-parameter (a pointer to write to).
            t if t.ends_with('*') && !t.starts_with("const") => {
                let v = self.var("OUT_STORAGE($);");
                self.outs.push(v.clone());
                format!("({ty})(void *){v}")
            }
            t => panic!("{}: no valid argument for a parameter of type {t}", f.name),
        }
    }
}

/// What a function returns when it cannot act (see the module doc).
fn default_answer(f: &Func) -> Option<String> {
    let r = f.ret.as_str();
    Some(match r {
        "void" => return None,
        "bool" => "false".into(),
        "size_t" | "uint8_t" | "uint16_t" | "uint32_t" | "uint64_t" | "int64_t" => "0".into(),
        _ if r.ends_with('*') => "NULL".into(),
        _ if r.starts_with("enum ") => "0".into(),
        _ if handle_kind(r).is_some() => "NULL_HANDLE".into(),
        _ => panic!("{}: no default for return type {r}", f.name),
    })
}

/// The C block of one call of `f`.
fn call(f: &Func, v: Variant<'_>, expected: &BTreeMap<(String, String), String>) -> String {
    let mut c = Call {
        pre: String::new(),
        post: String::new(),
        outs: Vec::new(),
        n: 0,
    };
    let mut args = Vec::new();
    for p in &f.params {
        let a = match v {
            Variant::AllNull if is_pointer(&p.ty) => "NULL".into(),
            Variant::AllNull if handle_kind(&p.ty).is_some() => "ZERO_HANDLE".into(),
            Variant::AllNull => c.valid(f, p),
            Variant::NullPtr(n) if n == p.name => "NULL".into(),
            Variant::Zero(n) if n == p.name => "ZERO_HANDLE".into(),
            Variant::Stale(n) if n == p.name => {
                format!("STALE_{}", handle_kind(&p.ty).unwrap().to_uppercase())
            }
            Variant::Foreign(n) if n == p.name => {
                format!("FOREIGN_{}", handle_kind(&p.ty).unwrap().to_uppercase())
            }
            _ => c.valid(f, p),
        };
        // A zeroed handle of the parameter's type.
        let a = if a == "ZERO_HANDLE" {
            format!("({}){{0}}", p.ty)
        } else {
            a
        };
        args.push(a);
    }
    let label = format!("{} {}", f.name, v.label());
    let expr = format!("{}({})", f.name, args.join(", "));
    let key = (f.name.clone(), v.label());
    let want = if let Some(w) = expected.get(&key) {
        Some(w.clone())
    } else if f.ret == "enum muon_result" {
        Some(
            match v {
                Variant::AllNull | Variant::NullPtr(_) | Variant::Zero(_) => {
                    "MUON_RESULT_NULL_ARGUMENT"
                }
                Variant::Stale(_) | Variant::Foreign(_) => "MUON_RESULT_STALE_HANDLE",
                Variant::Thread(_) => "MUON_RESULT_WRONG_THREAD",
            }
            .to_string(),
        )
    } else {
        default_answer(f)
    };
    let mut out = String::new();
    writeln!(out, "{{").unwrap();
    out.push_str(&c.pre);
    writeln!(out, "    bool succeeded_ = false;\n    (void)succeeded_;").unwrap();
    writeln!(out, "    BEGIN(\"{label}\");").unwrap();
    match (&want, f.ret.as_str()) {
        (None, _) => writeln!(out, "    {expr};").unwrap(),
        (Some(w), "enum muon_result") => {
            writeln!(out, "    muon_result rc_ = {expr};").unwrap();
            writeln!(out, "    succeeded_ = rc_ == MUON_RESULT_OK;").unwrap();
            writeln!(out, "    EXPECT_RC(\"{label}\", rc_, {w});").unwrap();
            for o in &c.outs {
                // (The documented exception: the size needed, with
                // MUON_RESULT_BUFFER_TOO_SMALL.)
                writeln!(
                    out,
                    "    if (!succeeded_ && rc_ != MUON_RESULT_BUFFER_TOO_SMALL) \
                     EXPECT_UNTOUCHED(\"{label}\", {o});"
                )
                .unwrap();
            }
        }
        (Some(w), r) if handle_kind(r).is_some() => {
            writeln!(out, "    {r} h_ = {expr};").unwrap();
            writeln!(out, "    EXPECT_NULL_HANDLE(\"{label}\", h_);").unwrap();
            let _ = w;
        }
        (Some(w), r) if r.ends_with('*') => {
            writeln!(out, "    {r}p_ = {expr};").unwrap();
            writeln!(
                out,
                "    EXPECT_TRUE(\"{label}\", p_ == {w}, \"%p\", (const void *)p_);"
            )
            .unwrap();
        }
        (Some(w), r) => {
            writeln!(out, "    {r} x_ = {expr};").unwrap();
            writeln!(
                out,
                "    EXPECT_TRUE(\"{label}\", x_ == {w}, \"%llu\", (unsigned long long)x_);"
            )
            .unwrap();
        }
    }
    out.push_str(&c.post);
    writeln!(out, "}}").unwrap();
    out
}

/// The C program: the fixture, then every call.
fn program(funcs: &[Func]) -> (String, usize) {
    let expected: BTreeMap<(String, String), String> = EXPECTED
        .iter()
        .map(|(f, v, w, _)| ((f.to_string(), v.to_string()), w.to_string()))
        .collect();
    let (mut main_calls, mut thread_calls, mut live_calls) =
        (String::new(), String::new(), String::new());
    let mut n = 0;
    for f in funcs {
        if NO_HANDLE_OR_POINTER.iter().any(|(name, _)| *name == f.name) {
            continue;
        }
        let has_any = f
            .params
            .iter()
            .any(|p| is_pointer(&p.ty) || handle_kind(&p.ty).is_some());
        assert!(
            has_any,
            "{} takes no handle and no pointer: add it to NO_HANDLE_OR_POINTER with the reason",
            f.name
        );
        main_calls += &call(f, Variant::AllNull, &expected);
        n += 1;
        let optional = optional_params(f);
        let many = f.params.len() > 1;
        for p in &f.params {
            if let Some(_h) = handle_kind(&p.ty) {
                for v in [
                    Variant::Zero(&p.name),
                    Variant::Stale(&p.name),
                    Variant::Foreign(&p.name),
                ] {
                    main_calls += &call(f, v, &expected);
                    n += 1;
                }
                thread_calls += &call(f, Variant::Thread(&p.name), &expected);
                n += 1;
            } else if p.ty == "struct muon_loop *" {
                thread_calls += &call(f, Variant::Thread(&p.name), &expected);
                n += 1;
            }
            // One required pointer NULL, the rest valid (a function with
            // one parameter has had that in all-null).
            if many && is_pointer(&p.ty) && !optional.contains(&p.name) {
                live_calls += &call(f, Variant::NullPtr(&p.name), &expected);
                n += 1;
            }
        }
    }
    let mut prog = String::from(PROLOGUE);
    writeln!(
        prog,
        "static void stale_and_null_cases(void) {{\n{main_calls}}}\n"
    )
    .unwrap();
    writeln!(prog, "static void *thread_cases(void *arg) {{\n    (void)arg;\n{thread_calls}    return NULL;\n}}\n").unwrap();
    writeln!(
        prog,
        "static void live_null_cases(void) {{\n{live_calls}}}\n"
    )
    .unwrap();
    prog.push_str(EPILOGUE);
    (prog, n)
}

/// The fixture: loop A with a live listener, connection, sender, transaction,
/// receiver, delivery and timer; stale ones of each kind (a second
/// connection closed to its final event, a closed listener, a fired
/// timer); loop W, live and empty, the owner of the foreign handles.
const PROLOGUE: &str = r#"/* Generated by tests/null_stale.rs from include/muon.h: do not edit. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "muon.h"

static int failures;

#define CHECK(expr)                                                           \
    do {                                                                      \
        if ((expr) != MUON_RESULT_OK) {                                       \
            fprintf(stderr, "fixture: %s failed at line %d\n", #expr, __LINE__); \
            exit(2);                                                          \
        }                                                                     \
    } while (0)
#define BEGIN(label) do { printf("CALL %s\n", label); fflush(stdout); } while (0)
#define EXPECT_RC(label, got, want)                                           \
    do {                                                                      \
        if ((got) != (want)) {                                                \
            failures++;                                                       \
            printf("FAIL %s: returned %s, expected %s\n", label,             \
                   muon_result_name(got), muon_result_name(want));            \
        }                                                                     \
    } while (0)
#define EXPECT_TRUE(label, cond, fmt, got)                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            printf("FAIL %s: returned " fmt ", expected %s\n", label, got, #cond); \
        }                                                                     \
    } while (0)
#define EXPECT_NULL_HANDLE(label, h)                                          \
    EXPECT_TRUE(label, (h).owner == NULL && (h).generation == 0, "%s", "a live handle")
#define OUT_STORAGE(name) _Alignas(16) unsigned char name[64]; memset(name, 0xa5, sizeof name)
#define EXPECT_UNTOUCHED(label, buf)                                          \
    do {                                                                      \
        for (size_t i_ = 0; i_ < sizeof buf; i_++) {                          \
            if (buf[i_] != 0xa5) {                                            \
                failures++;                                                   \
                printf("FAIL %s: wrote its out-parameter on an error\n", label); \
                break;                                                        \
            }                                                                 \
        }                                                                     \
    } while (0)

static const uint8_t ZEROS[64];
/* An encoded message (one amqp-value section holding null), a value. */
static const uint8_t MESSAGE_BYTES[] = {0x00, 0x53, 0x77, 0x40};
static const uint8_t VALUE_BYTES[] = {0x40};
static char CREDENTIALS[256];

static muon_loop *A, *W;
static muon_handler HANDLER = MUON_HANDLER_INIT;
static muon_listener LIVE_LISTENER, STALE_LISTENER, FOREIGN_LISTENER;
static muon_connection LIVE_CONNECTION, STALE_CONNECTION, FOREIGN_CONNECTION;
static muon_sender LIVE_SENDER, STALE_SENDER, FOREIGN_SENDER;
static muon_receiver LIVE_RECEIVER, STALE_RECEIVER, FOREIGN_RECEIVER;
static muon_delivery LIVE_DELIVERY, STALE_DELIVERY, FOREIGN_DELIVERY;
static muon_timer LIVE_TIMER, STALE_TIMER, FOREIGN_TIMER;
static muon_transaction LIVE_TRANSACTION, STALE_TRANSACTION, FOREIGN_TRANSACTION;
static const muon_terminus *LIVE_TERMINUS;

static void post_noop(void *ctx) { (void)ctx; }
static void log_noop(void *ud, const char *line) { (void)ud; (void)line; }
static void log_callback_noop(void *ctx, muon_log_level level, muon_log_category category,
                              const char *message) {
    (void)ctx; (void)level; (void)category; (void)message;
}

static muon_value *v_;
/* The value a constructor call just wrote to v_. */
static muon_value *take_v(muon_result rc) {
    CHECK(rc);
    muon_value *v = v_;
    v_ = NULL;
    return v;
}
#define make_v(expr) take_v(expr)
static muon_value *make_list(void) {
    muon_value *l = NULL, *i = NULL;
    CHECK(muon_value_list_new(&l));
    CHECK(muon_value_int(1, &i));
    CHECK(muon_value_list_append(l, i));
    return l;
}
static muon_value *make_map(void) {
    muon_value *m = NULL, *k = NULL, *v = NULL;
    CHECK(muon_value_map_new(&m));
    CHECK(muon_value_string("x", &k));
    CHECK(muon_value_int(1, &v));
    CHECK(muon_value_map_put(m, k, v));
    return m;
}
/* A map with symbol keys (AMQP fields: properties, error info). */
static muon_value *make_fields(void) {
    muon_value *m = NULL, *k = NULL, *v = NULL;
    CHECK(muon_value_map_new(&m));
    CHECK(muon_value_symbol("x", &k));
    CHECK(muon_value_int(1, &v));
    CHECK(muon_value_map_put(m, k, v));
    return m;
}
static muon_value *make_array(void) {
    muon_value *a = NULL, *i = NULL;
    CHECK(muon_value_array_new(MUON_TYPE_INT, &a));
    CHECK(muon_value_int(1, &i));
    CHECK(muon_value_array_append(a, i));
    return a;
}
static muon_value *make_described(void) {
    muon_value *d = NULL, *k = NULL, *v = NULL;
    CHECK(muon_value_ulong(0x70, &k));
    CHECK(muon_value_int(1, &v));
    CHECK(muon_value_described_new(k, v, &d));
    return d;
}
/* A driver over no transport yet, with a loop of its own. */
static muon_driver *make_driver(void) {
    muon_driver *d = NULL;
    CHECK(muon_driver_new(NULL, false, NULL, NULL, NULL, &d));
    return d;
}

static muon_message *make_message(void) {
    muon_message *m = NULL;
    CHECK(muon_message_new(&m));
    CHECK(muon_message_set_body_string(m, "body"));
    return m;
}

/* ---- the fixture --------------------------------------------------------- */

static int links_open, sent, settled_state, stale_final, listener_final, timer_fired;

static void on_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    muon_message *m = make_message();
    if (s.index == LIVE_SENDER.index && s.generation == LIVE_SENDER.generation &&
        s.owner == LIVE_SENDER.owner && LIVE_DELIVERY.generation == 0) {
        CHECK(muon_sender_send(s, m, &LIVE_DELIVERY));
        sent++;
    } else if (s.index == STALE_SENDER.index && s.generation == STALE_SENDER.generation &&
               s.owner == STALE_SENDER.owner && STALE_DELIVERY.generation == 0) {
        CHECK(muon_sender_send(s, m, &STALE_DELIVERY));
        sent++;
    }
    muon_message_free(m);
}
static void on_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    links_open++;
}
static void on_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    settled_state++;
}
static void on_conn_final(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    if (c.index == STALE_CONNECTION.index && c.generation == STALE_CONNECTION.generation)
        stale_final++;
}
static void on_listener_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    listener_final++;
}
static void on_timer(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    timer_fired++;
}

/* The listener coordinates transactions: each is "t", every discharge
 * accepted. */
static int txn_declared, txn_discharged;
static void on_coordinator_declare(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(muon_delivery_declared(muon_event_delivery(ev), (const uint8_t *)"t", 1));
}
static void on_coordinator_discharge(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(muon_delivery_accept(muon_event_delivery(ev)));
}
static void on_transaction_declared(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    txn_declared++;
}
static void on_transaction_discharged(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    txn_discharged++;
}

static void run_until(const int *flag, int want) {
    for (int i = 0; i < 400 && *flag < want; i++)
        CHECK(muon_loop_run_once(A, 25));
    if (*flag < want) {
        fprintf(stderr, "fixture: the loop did not get there\n");
        exit(2);
    }
}

static void foreign(void) {
    /* A live object's index and generation, with W (no objects) as owner. */
#define FOREIGN(h, live) h.owner = W; h.index = live.index; h.generation = live.generation
    FOREIGN(FOREIGN_LISTENER, LIVE_LISTENER);
    FOREIGN(FOREIGN_CONNECTION, LIVE_CONNECTION);
    FOREIGN(FOREIGN_SENDER, LIVE_SENDER);
    FOREIGN(FOREIGN_RECEIVER, LIVE_RECEIVER);
    FOREIGN(FOREIGN_DELIVERY, LIVE_DELIVERY);
    FOREIGN(FOREIGN_TIMER, LIVE_TIMER);
    FOREIGN(FOREIGN_TRANSACTION, LIVE_TRANSACTION);
}

static void fixture(void) {
    size_t len = 0;
    CHECK(muon_scram_hash_password("SCRAM-SHA-256", "p", 4096, CREDENTIALS,
                                   sizeof CREDENTIALS, &len));
    CHECK(muon_loop_new(&A));
    CHECK(muon_loop_new(&W));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_flow;
    h.on_link_remote_open = on_remote_open;
    h.on_accepted = on_accepted;
    h.on_connection_final = on_conn_final;
    h.on_listener_final = on_listener_final;
    h.on_timer = on_timer;
    h.on_coordinator_declare = on_coordinator_declare;
    h.on_coordinator_discharge = on_coordinator_discharge;
    h.on_transaction_declared = on_transaction_declared;
    h.on_transaction_discharged = on_transaction_discharged;
    CHECK(muon_loop_set_handler(A, &h, NULL));
    CHECK(muon_loop_listen(A, "127.0.0.1:0", NULL, NULL, NULL, &LIVE_LISTENER));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(LIVE_LISTENER));

    /* The stale set: a connection with a sender, a receiver and a
     * delivery, closed to its final event; a closed listener; a timer that
     * fired. */
    CHECK(muon_loop_connect(A, url, NULL, NULL, NULL, &STALE_CONNECTION));
    CHECK(muon_connection_open_sender(STALE_CONNECTION, "q", NULL, NULL, NULL, &STALE_SENDER));
    CHECK(muon_connection_open_receiver(STALE_CONNECTION, "q", NULL, NULL, NULL, &STALE_RECEIVER));
    run_until(&settled_state, 1);
    CHECK(muon_connection_close(STALE_CONNECTION));
    run_until(&stale_final, 1);
    CHECK(muon_loop_listen(A, "127.0.0.1:0", NULL, NULL, NULL, &STALE_LISTENER));
    CHECK(muon_listener_close(STALE_LISTENER));
    run_until(&listener_final, 1);
    CHECK(muon_loop_schedule(A, 0, NULL, NULL, &STALE_TIMER));
    run_until(&timer_fired, 1);

    /* The live set: the delivery stays unsettled (no auto-settle), the
     * timer far in the future. */
    links_open = 0;
    CHECK(muon_loop_connect(A, url, NULL, NULL, NULL, &LIVE_CONNECTION));
    CHECK(muon_connection_open_sender(LIVE_CONNECTION, "q", NULL, NULL, NULL, &LIVE_SENDER));
    CHECK(muon_sender_set_auto_settle(LIVE_SENDER, false));
    CHECK(muon_connection_open_receiver(LIVE_CONNECTION, "q", NULL, NULL, NULL, &LIVE_RECEIVER));
    run_until(&settled_state, 2);
    CHECK(muon_loop_schedule(A, 3600 * 1000, NULL, NULL, &LIVE_TIMER));
    /* A transaction committed (stale), one declared (live). */
    CHECK(muon_connection_declare_transaction(LIVE_CONNECTION, NULL, NULL, &STALE_TRANSACTION));
    run_until(&txn_declared, 1);
    CHECK(muon_transaction_commit(STALE_TRANSACTION));
    run_until(&txn_discharged, 1);
    CHECK(muon_connection_declare_transaction(LIVE_CONNECTION, NULL, NULL, &LIVE_TRANSACTION));
    run_until(&txn_declared, 2);
    LIVE_TERMINUS = muon_sender_remote_target(LIVE_SENDER);
    if (LIVE_TERMINUS == NULL) {
        fprintf(stderr, "fixture: the live sender has no remote target\n");
        exit(2);
    }
    foreign();
}

static void teardown(void) {
    CHECK(muon_delivery_settle(LIVE_DELIVERY));
    CHECK(muon_timer_cancel(LIVE_TIMER));
    CHECK(muon_connection_close(LIVE_CONNECTION));
    CHECK(muon_listener_close(LIVE_LISTENER));
    CHECK(muon_loop_run(A));
    muon_loop_free(A);
    muon_loop_free(W);
}

"#;

const EPILOGUE: &str = r#"int main(void) {
    alarm(60);
    fixture();
    stale_and_null_cases();
    pthread_t t;
    if (pthread_create(&t, NULL, thread_cases, NULL) != 0 || pthread_join(t, NULL) != 0) {
        fprintf(stderr, "cannot run the thread\n");
        return 2;
    }
    live_null_cases();
    teardown();
    printf("null_stale: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
"#;

/// True if `cc` builds and runs a program with `flags`.
fn supported(flags: &[&str]) -> bool {
    let dir = out_dir();
    let tag = flags.join("").replace(['-', '=', ','], "_");
    let src = dir.join(format!("probe{tag}.c"));
    let exe = dir.join(format!("probe{tag}"));
    std::fs::write(&src, "int main(void) { return 0; }\n").expect("can write the probe");
    Command::new(cc())
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new(&exe)
            .output()
            .is_ok_and(|o| o.status.success())
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// The sanitizer flags to build with: ASan and UBSan where the compiler
/// has them; where CI requires one (MUON_REQUIRE_ASAN, MUON_REQUIRE_UBSAN)
/// and it is missing, the test fails.
fn sanitizers() -> Vec<&'static str> {
    let mut flags = Vec::new();
    for (flag, var) in [
        ("-fsanitize=address", "MUON_REQUIRE_ASAN"),
        ("-fsanitize=undefined", "MUON_REQUIRE_UBSAN"),
    ] {
        if supported(&[flag]) {
            flags.push(flag);
        } else {
            assert!(
                std::env::var_os(var).is_none(),
                "{} does not support {flag}, and {var} is set",
                cc()
            );
            eprintln!("{} does not support {flag}: built without it", cc());
        }
    }
    if flags.contains(&"-fsanitize=undefined") {
        flags.push("-fno-sanitize-recover=undefined");
    }
    if !flags.is_empty() {
        flags.push("-fno-omit-frame-pointer");
    }
    flags
}

#[test]
fn every_function_survives_null_stale_foreign_and_wrong_thread_arguments() {
    let header =
        std::fs::read_to_string(manifest_dir().join("include/muon.h")).expect("include/muon.h");
    let funcs = parse_header(&header);
    assert!(
        funcs.len() > 300 && funcs.iter().any(|f| f.name == "muon_value_free"),
        "the header's functions were found ({})",
        funcs.len()
    );
    for (name, _) in NO_HANDLE_OR_POINTER {
        assert!(
            funcs.iter().any(|f| f.name == *name),
            "{name} is listed but not in the header"
        );
    }
    let (src, calls) = program(&funcs);
    let dir = out_dir();
    let c = dir.join("null_stale.c");
    std::fs::write(&c, &src).expect("can write the generated program");
    let exe: PathBuf = dir.join("null_stale");
    let mut cmd = Command::new(cc());
    cmd.args([
        "-std=c11",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-unused-function",
    ])
    .args(sanitizers())
    .arg(format!("-I{}", manifest_dir().join("include").display()))
    .arg(&c)
    .arg("-o")
    .arg(&exe)
    .arg(lib_dir().join("libmuon.a"))
    .args(["-lpthread", "-ldl", "-lm"]);
    common::run_compiler(cmd, "compiling the generated null_stale.c");
    let child = Command::new(&exe)
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the generated program starts");
    let out = common::ChildGuard(Some(child)).wait(Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    let made = stdout.lines().filter(|l| l.starts_with("CALL")).count();
    let last = stdout.lines().rev().find(|l| l.starts_with("CALL"));
    assert!(
        out.status.success() && fails.is_empty() && made == calls,
        "{} ({made} of {calls} calls made; the last: {last:?}); {} failed:\n{}\nstderr:\n{stderr}",
        out.status,
        fails.len(),
        fails.join("\n")
    );
}
