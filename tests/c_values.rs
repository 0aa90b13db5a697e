//! Compiles tests/c/*.c against the static and the shared library and runs
//! them: every value (and message) function is exercised from C, with the
//! formatted output compared exactly. Set `VALGRIND=1` to run them under
//! valgrind.

mod common;

use std::path::Path;

use common::{Link, compile_c, run_expecting};

const VALUES_EXPECTED: &str = r#"400 MUON_RESULT_DECODE_ERROR: the bytes are not a valid AMQP encoding
unknown result code
null: None
bool: True
ubyte: 255
ushort: 65535
uint: 4294967295
ulong: 18446744073709551615
byte: -128
short: -32768
int: -2147483648
long: -9223372036854775808
float: 1.5
float: 0.1
double: 0.1
double: 1e+16
double: -2.0
decimal32: decimal32(0x30800001)
decimal64: decimal64(0x31c0000000000001)
decimal128: decimal128(0x22080000000000000000000000000001)
char: 'é'
timestamp: ts:1700000000000
uuid: 12345678-9abc-def0-0123-456789abcdef
binary: b"\x00ab'\xff"
binary: b''
string: Hello World!
string: café 'q'
symbol: :sym
symbol: :'two words'
map: {'sequence': 1}
list: [1, 'two', [True, None]]
array: @int[1, -200000]
array: @symbol[:a, :b-c]
described: @0x70 [3]
described: @:com.example:thing 'x'
map: {'sequence': 2, :list: [1, 'two', [True, None]], 7: @int[1, -200000], 'syms': @symbol[:a, :b-c], 'described': @0x70 [3], :x-opt: @:com.example:thing 'x', 'bin': b'\x00\x01', 'uuid': 12345678-9abc-def0-0123-456789abcdef, 'ts': ts:-1, 'char': 'c', 'empty': ''}
encoded: 180 bytes
decoded: {'sequence': 2, :list: [1, 'two', [True, None]], 7: @int[1, -200000], 'syms': @symbol[:a, :b-c], 'described': @0x70 [3], :x-opt: @:com.example:thing 'x', 'bin': b'\x00\x01', 'uuid': 12345678-9abc-def0-0123-456789abcdef, 'ts': ts:-1, 'char': 'c', 'empty': ''}
nesting: 64 levels kept, 194 bytes
values: ok
"#;

#[test]
fn values_c_static() {
    let exe = compile_c(Path::new("tests/c/values.c"), Link::Static);
    run_expecting(&exe, &[], VALUES_EXPECTED);
}

#[test]
fn values_c_shared() {
    let exe = compile_c(Path::new("tests/c/values.c"), Link::Shared);
    run_expecting(&exe, &[], VALUES_EXPECTED);
}

const MESSAGE_EXPECTED: &str = r#"Hello World!
hello: 17 bytes
id: 42
correlation-id: a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f
property sequence = 2
property name = widget
property price = 2.5
property gift = False
annotation x-opt-trace = [1, 'a']
annotation[0] = :topic
delivery annotation :x-opt-hop = ts:1700000000001
footer :x-opt-hmac = b'\x01\x02'
body: {'sequence': 1}
full: 318 bytes
id: 42
correlation-id: a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f
property sequence = 2
property name = widget
property price = 2.5
property gift = False
annotation x-opt-trace = [1, 'a']
annotation[0] = :topic
delivery annotation :x-opt-hop = ts:1700000000001
footer :x-opt-hmac = b'\x01\x02'
body: {'sequence': 1}
id: 42
correlation-id: a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f
property sequence = 2
property name = widget
property price = 2.5
property gift = False
annotation x-opt-trace = [1, 'a']
annotation[0] = :topic
delivery annotation :x-opt-hop = ts:1700000000001
footer :x-opt-hmac = b'\x01\x02'
body: {'sequence': 1}
data sections: 3
sequence[0][1]: b
body: 5
nesting: ok
message: ok
"#;

#[test]
fn message_c_static() {
    let exe = compile_c(Path::new("tests/c/message.c"), Link::Static);
    run_expecting(&exe, &[], MESSAGE_EXPECTED);
}

#[test]
fn message_c_shared() {
    let exe = compile_c(Path::new("tests/c/message.c"), Link::Shared);
    run_expecting(&exe, &[], MESSAGE_EXPECTED);
}

/// C programs that exist to call functions with NULL pointers, null and
/// stale handles (`tests/null_stale.rs` generates one for every function):
/// their calls do not count as uses.
const NULL_TESTS: [&str; 2] = ["api_null.c", "api_stale.c"];

/// True if a call's first argument (the text after `name(`) is NULL or a
/// zeroed handle: a test of NULL handling, not a use.
fn null_call(args: &str) -> bool {
    let first = args.split([',', ')']).next().unwrap_or("").trim();
    first == "NULL"
        || first == "{0}"
        || (first.starts_with("(muon_") || first.starts_with("(struct muon_"))
            && first.ends_with("){0}")
}

/// Every function the header declares is called by at least one C program
/// under tests/c/ or examples-c/ for real, so none ships without having
/// been compiled against and run from C: the NULL-handling programs
/// (`NULL_TESTS`) and calls whose first argument is NULL or a zeroed
/// handle do not count.
#[test]
fn every_header_function_is_called_from_c() {
    let root = common::manifest_dir();
    let header = std::fs::read_to_string(root.join("include/muon.h")).expect("include/muon.h");
    let mut c_sources = Vec::new();
    for dir in ["tests/c", "examples-c"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.extension().is_some_and(|x| x == "c") && !NULL_TESTS.contains(&name) {
                c_sources.push(std::fs::read_to_string(&path).expect("readable C file"));
            }
        }
    }
    assert!(
        NULL_TESTS
            .iter()
            .all(|f| root.join("tests/c").join(f).exists()),
        "NULL_TESTS names files that are gone"
    );
    let declared: Vec<&str> = header
        .lines()
        .filter(|l| !l.starts_with([' ', '/', '*', '#']))
        .filter_map(|l| {
            let name = l[..l.find('(')?].rsplit([' ', '*']).next()?;
            name.starts_with("muon_").then_some(name)
        })
        .collect();
    assert!(
        declared.contains(&"muon_value_free"),
        "the header's functions were found"
    );
    let used = |name: &str| {
        let call = format!("{name}(");
        c_sources.iter().any(|src| {
            src.match_indices(&call).any(|(i, _)| {
                // A whole name (not the tail of a longer one), not NULL-only.
                let before = src[..i].chars().next_back();
                !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !null_call(&src[i + call.len()..])
            })
        })
    };
    let uncalled: Vec<&str> = declared.into_iter().filter(|name| !used(name)).collect();
    assert!(
        uncalled.is_empty(),
        "never called from C with a real argument: {uncalled:?}"
    );
}

const SELECTOR_EXPECTED: &str = r#"colour = 'red' -> yes no no
weight > 10 AND colour <> 'red' -> no no yes
colour IN ('red', 'green') OR JMSPriority >= 9 -> yes yes no
colour LIKE '%e%' AND NOT weight BETWEEN 1 AND 5 -> yes no yes
missing = 1 OR missing IS NULL AND JMSType = 'order' -> yes yes yes
colour == 'red' -> MUON_RESULT_INVALID_ARGUMENT: invalid selector at column 9: expected an identifier, a literal or '(', found '='
colour = 'red -> MUON_RESULT_INVALID_ARGUMENT: invalid selector at column 10: the string literal is not closed (missing ')
weight IN (colour) -> MUON_RESULT_INVALID_ARGUMENT: invalid selector at column 12: expected a string or number literal in the IN list, found 'colour'
filter: {:jms-selector: @:apache.org:selector-filter:string 'weight < 5'}
from filter: colour = 'green'
answers: {:my-selector: @0x468c00000004 "colour = 'green'"}
green matches: yes
bad filter: invalid selector at column 4: expected an identifier, a literal or '(', found the end of the selector
selector: ok
"#;

#[test]
fn selector_c_static() {
    let exe = compile_c(Path::new("tests/c/selector.c"), Link::Static);
    run_expecting(&exe, &[], SELECTOR_EXPECTED);
}

#[test]
fn selector_c_shared() {
    let exe = compile_c(Path::new("tests/c/selector.c"), Link::Shared);
    run_expecting(&exe, &[], SELECTOR_EXPECTED);
}
