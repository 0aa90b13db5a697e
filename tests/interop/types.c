/*
 * The muon side of the interop suite's type-fidelity, large-message,
 * small-frame, many-link and failure cases (tests/interop.rs), written
 * against include/muon.h only. Its Qpid Proton counterpart is
 * tests/interop/types_peer.py; both build the same "types" message and
 * print messages in the same canonical typed notation, one field per line,
 * so the suite can compare what each side sent and decoded.
 *
 *   types expected
 *   types ROLE --connect URL [--address A] [--reply-address B]
 *              [--kind types|big|seq] [--count N] [--size BYTES]
 *              [--links N] [--max-frame N] [--expect-condition NAME]
 *
 * Roles: send, recv, echo (receive one message from A, print it, rebuild a
 * new message from what the getters return and send it to B), and fail
 * (send one message to A and expect the peer to refuse: the connection,
 * session or link error is printed as "condition NAME: DESCRIPTION", and
 * the exit status is 0 only if NAME is --expect-condition).
 *
 * Lines printed: "sent ..." / "got ..." (canonical notation), "ok ...",
 * "condition ...", "error: ...". Exit status 0 on success.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

/* ------------------------------------------------------------ utilities */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static void check(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        die("%s: %s (%s)", what, muon_result_name(rc), muon_result_message(rc));
    }
}

/* A growable string. */
typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            die("vsnprintf failed");
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            die("out of memory");
        }
        if (b->len == 0) {
            b->p[0] = '\0';
        }
    }
}

static void reset(buf *b) {
    b->len = 0;
    if (b->p) {
        b->p[0] = '\0';
    }
}

/* Printable ASCII as is (but " and \), every other byte as \xNN. */
static void put_escaped(buf *b, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            put(b, "%c", p[i]);
        } else {
            put(b, "\\x%02x", p[i]);
        }
    }
}

static void put_hex(buf *b, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        put(b, "%02x", p[i]);
    }
}

/* ------------------------------------------------- canonical notation */

static const char *type_name(muon_type t) {
    switch (t) {
    case MUON_TYPE_NULL: return "null";
    case MUON_TYPE_BOOL: return "bool";
    case MUON_TYPE_UBYTE: return "ubyte";
    case MUON_TYPE_USHORT: return "ushort";
    case MUON_TYPE_UINT: return "uint";
    case MUON_TYPE_ULONG: return "ulong";
    case MUON_TYPE_BYTE: return "byte";
    case MUON_TYPE_SHORT: return "short";
    case MUON_TYPE_INT: return "int";
    case MUON_TYPE_LONG: return "long";
    case MUON_TYPE_FLOAT: return "float";
    case MUON_TYPE_DOUBLE: return "double";
    case MUON_TYPE_DECIMAL32: return "decimal32";
    case MUON_TYPE_DECIMAL64: return "decimal64";
    case MUON_TYPE_DECIMAL128: return "decimal128";
    case MUON_TYPE_CHAR: return "char";
    case MUON_TYPE_TIMESTAMP: return "timestamp";
    case MUON_TYPE_UUID: return "uuid";
    case MUON_TYPE_BINARY: return "binary";
    case MUON_TYPE_STRING: return "string";
    case MUON_TYPE_SYMBOL: return "symbol";
    case MUON_TYPE_LIST: return "list";
    case MUON_TYPE_MAP: return "map";
    case MUON_TYPE_ARRAY: return "array";
    case MUON_TYPE_DESCRIBED: return "described";
    default: return "invalid";
    }
}

static void fmt(buf *b, const muon_value *v) {
    muon_type t = muon_value_type(v);
    switch (t) {
    case MUON_TYPE_NULL:
        put(b, "null");
        return;
    case MUON_TYPE_BOOL: {
        bool x = false;
        check(muon_value_get_bool(v, &x), "get bool");
        put(b, "bool:%s", x ? "true" : "false");
        return;
    }
    case MUON_TYPE_UBYTE: {
        uint8_t x = 0;
        check(muon_value_get_ubyte(v, &x), "get ubyte");
        put(b, "ubyte:%u", (unsigned)x);
        return;
    }
    case MUON_TYPE_USHORT: {
        uint16_t x = 0;
        check(muon_value_get_ushort(v, &x), "get ushort");
        put(b, "ushort:%u", (unsigned)x);
        return;
    }
    case MUON_TYPE_UINT: {
        uint32_t x = 0;
        check(muon_value_get_uint(v, &x), "get uint");
        put(b, "uint:%lu", (unsigned long)x);
        return;
    }
    case MUON_TYPE_ULONG: {
        uint64_t x = 0;
        check(muon_value_get_ulong(v, &x), "get ulong");
        put(b, "ulong:%llu", (unsigned long long)x);
        return;
    }
    case MUON_TYPE_BYTE: {
        int8_t x = 0;
        check(muon_value_get_byte(v, &x), "get byte");
        put(b, "byte:%d", (int)x);
        return;
    }
    case MUON_TYPE_SHORT: {
        int16_t x = 0;
        check(muon_value_get_short(v, &x), "get short");
        put(b, "short:%d", (int)x);
        return;
    }
    case MUON_TYPE_INT: {
        int32_t x = 0;
        check(muon_value_get_int(v, &x), "get int");
        put(b, "int:%ld", (long)x);
        return;
    }
    case MUON_TYPE_LONG: {
        int64_t x = 0;
        check(muon_value_get_long(v, &x), "get long");
        put(b, "long:%lld", (long long)x);
        return;
    }
    case MUON_TYPE_FLOAT: {
        float x = 0;
        uint32_t bits;
        check(muon_value_get_float(v, &x), "get float");
        memcpy(&bits, &x, sizeof bits);
        put(b, "float:%08lx", (unsigned long)bits);
        return;
    }
    case MUON_TYPE_DOUBLE: {
        double x = 0;
        uint64_t bits;
        check(muon_value_get_double(v, &x), "get double");
        memcpy(&bits, &x, sizeof bits);
        put(b, "double:%016llx", (unsigned long long)bits);
        return;
    }
    case MUON_TYPE_DECIMAL32: {
        uint32_t x = 0;
        check(muon_value_get_decimal32(v, &x), "get decimal32");
        put(b, "decimal32:%08lx", (unsigned long)x);
        return;
    }
    case MUON_TYPE_DECIMAL64: {
        uint64_t x = 0;
        check(muon_value_get_decimal64(v, &x), "get decimal64");
        put(b, "decimal64:%016llx", (unsigned long long)x);
        return;
    }
    case MUON_TYPE_DECIMAL128: {
        uint8_t x[16];
        check(muon_value_get_decimal128(v, x), "get decimal128");
        put(b, "decimal128:");
        put_hex(b, x, 16);
        return;
    }
    case MUON_TYPE_CHAR: {
        uint32_t x = 0;
        check(muon_value_get_char(v, &x), "get char");
        put(b, "char:U+%04lX", (unsigned long)x);
        return;
    }
    case MUON_TYPE_TIMESTAMP: {
        int64_t x = 0;
        check(muon_value_get_timestamp(v, &x), "get timestamp");
        put(b, "timestamp:%lld", (long long)x);
        return;
    }
    case MUON_TYPE_UUID: {
        uint8_t u[16];
        check(muon_value_get_uuid(v, u), "get uuid");
        put(b, "uuid:");
        put_hex(b, u, 4);
        put(b, "-");
        put_hex(b, u + 4, 2);
        put(b, "-");
        put_hex(b, u + 6, 2);
        put(b, "-");
        put_hex(b, u + 8, 2);
        put(b, "-");
        put_hex(b, u + 10, 6);
        return;
    }
    case MUON_TYPE_BINARY: {
        muon_bytes x = {0};
        check(muon_value_get_binary(v, &x), "get binary");
        put(b, "binary:");
        put_hex(b, x.ptr, x.len);
        return;
    }
    case MUON_TYPE_STRING:
    case MUON_TYPE_SYMBOL: {
        muon_bytes x = {0};
        if (t == MUON_TYPE_STRING) {
            check(muon_value_get_string(v, &x), "get string");
        } else {
            check(muon_value_get_symbol(v, &x), "get symbol");
        }
        put(b, "%s:\"", type_name(t));
        put_escaped(b, x.ptr, x.len);
        put(b, "\"");
        return;
    }
    case MUON_TYPE_LIST: {
        size_t n = muon_value_len(v);
        put(b, "list:[");
        for (size_t i = 0; i < n; i++) {
            put(b, i ? ", " : "");
            fmt(b, muon_value_list_get(v, i));
        }
        put(b, "]");
        return;
    }
    case MUON_TYPE_MAP: {
        size_t n = muon_value_len(v);
        put(b, "map:{");
        for (size_t i = 0; i < n; i++) {
            put(b, i ? ", " : "");
            fmt(b, muon_value_map_key(v, i));
            put(b, " => ");
            fmt(b, muon_value_map_value(v, i));
        }
        put(b, "}");
        return;
    }
    case MUON_TYPE_ARRAY: {
        size_t n = muon_value_len(v);
        put(b, "array<%s>:[", type_name(muon_value_array_type(v)));
        for (size_t i = 0; i < n; i++) {
            put(b, i ? ", " : "");
            fmt(b, muon_value_array_get(v, i));
        }
        put(b, "]");
        return;
    }
    case MUON_TYPE_DESCRIBED: {
        uint64_t code = 0;
        muon_bytes sym = {0};
        if (muon_value_described_descriptor_code(v, &code) == MUON_RESULT_OK) {
            put(b, "described(ulong:%llu):", (unsigned long long)code);
        } else {
            check(muon_value_described_descriptor_symbol(v, &sym), "descriptor");
            put(b, "described(symbol:\"");
            put_escaped(b, sym.ptr, sym.len);
            put(b, "\"):");
        }
        fmt(b, muon_value_described_value(v));
        return;
    }
    default:
        put(b, "INVALID");
        return;
    }
}

static void put_opt_text(buf *b, const char *kind, const char *s) {
    if (!s) {
        put(b, "null");
        return;
    }
    put(b, "%s:\"", kind);
    put_escaped(b, (const uint8_t *)s, strlen(s));
    put(b, "\"");
}

/* Prints the message, one field per line, each line starting `prefix`. */
static void print_canonical(const char *prefix, const muon_message *m) {
    buf b = {0};
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    muon_bytes bytes = {0};

    printf("%sheader.durable: bool:%s\n", prefix, muon_message_durable(m) ? "true" : "false");
    printf("%sheader.priority: ubyte:%u\n", prefix, (unsigned)muon_message_priority(m));
    printf("%sheader.ttl: uint:%lu\n", prefix,
           (unsigned long)(muon_message_ttl(m, &u64) ? u64 : 0));
    printf("%sheader.first-acquirer: bool:%s\n", prefix,
           muon_message_first_acquirer(m) ? "true" : "false");
    printf("%sheader.delivery-count: uint:%lu\n", prefix,
           (unsigned long)muon_message_delivery_count(m));

    for (size_t i = 0; i < muon_message_delivery_annotation_count(m); i++) {
        reset(&b);
        fmt(&b, muon_message_delivery_annotation_key(m, i));
        put(&b, "]: ");
        fmt(&b, muon_message_delivery_annotation_value(m, i));
        printf("%sdelivery-annotations[%s\n", prefix, b.p);
    }
    for (size_t i = 0; i < muon_message_annotation_count(m); i++) {
        reset(&b);
        fmt(&b, muon_message_annotation_key(m, i));
        put(&b, "]: ");
        fmt(&b, muon_message_annotation_value(m, i));
        printf("%smessage-annotations[%s\n", prefix, b.p);
    }

    reset(&b);
    fmt(&b, muon_message_id(m));
    printf("%sproperties.message-id: %s\n", prefix, b.p);
    reset(&b);
    put(&b, "binary:");
    if (muon_message_user_id(m, &bytes)) {
        put_hex(&b, bytes.ptr, bytes.len);
    }
    printf("%sproperties.user-id: %s\n", prefix, b.p);
#define TEXT_FIELD(label, kind, getter)                                                            \
    reset(&b);                                                                                     \
    put_opt_text(&b, kind, getter(m));                                                             \
    printf("%sproperties." label ": %s\n", prefix, b.p)
    TEXT_FIELD("to", "string", muon_message_to);
    TEXT_FIELD("subject", "string", muon_message_subject);
    TEXT_FIELD("reply-to", "string", muon_message_reply_to);
    reset(&b);
    fmt(&b, muon_message_correlation_id(m));
    printf("%sproperties.correlation-id: %s\n", prefix, b.p);
    TEXT_FIELD("content-type", "symbol", muon_message_content_type);
    TEXT_FIELD("content-encoding", "symbol", muon_message_content_encoding);
    printf("%sproperties.absolute-expiry-time: timestamp:%lld\n", prefix,
           (long long)(muon_message_absolute_expiry_time(m, &i64) ? i64 : 0));
    printf("%sproperties.creation-time: timestamp:%lld\n", prefix,
           (long long)(muon_message_creation_time(m, &i64) ? i64 : 0));
    TEXT_FIELD("group-id", "string", muon_message_group_id);
    printf("%sproperties.group-sequence: uint:%lu\n", prefix,
           (unsigned long)(muon_message_group_sequence(m, &u32) ? u32 : 0));
    TEXT_FIELD("reply-to-group-id", "string", muon_message_reply_to_group_id);
#undef TEXT_FIELD

    for (size_t i = 0; i < muon_message_property_count(m); i++) {
        reset(&b);
        fmt(&b, muon_message_property_key(m, i));
        put(&b, "]: ");
        fmt(&b, muon_message_property_value(m, i));
        printf("%sapplication-properties[%s\n", prefix, b.p);
    }

    if (muon_message_body_kind(m) != MUON_BODY_KIND_VALUE) {
        printf("%sbody: not an amqp-value section (kind %d)\n", prefix,
               (int)muon_message_body_kind(m));
    } else {
        const muon_value *body = muon_message_body(m);
        if (muon_value_type(body) == MUON_TYPE_LIST) {
            printf("%sbody.amqp-value: list(%zu)\n", prefix, muon_value_len(body));
            for (size_t i = 0; i < muon_value_len(body); i++) {
                reset(&b);
                fmt(&b, muon_value_list_get(body, i));
                printf("%sbody[%zu]: %s\n", prefix, i, b.p);
            }
        } else {
            reset(&b);
            fmt(&b, body);
            printf("%sbody.amqp-value: %s\n", prefix, b.p);
        }
    }
    fflush(stdout);
    free(b.p);
}

/* --------------------------------------------------- the types message */

#define MAKE(call)                                                                                 \
    do {                                                                                           \
        check(call, #call);                                                                        \
    } while (0)

static muon_value *v_null(void) { muon_value *v = NULL; MAKE(muon_value_null(&v)); return v; }
static muon_value *v_bool(bool x) { muon_value *v = NULL; MAKE(muon_value_bool(x, &v)); return v; }
static muon_value *v_ubyte(uint8_t x) { muon_value *v = NULL; MAKE(muon_value_ubyte(x, &v)); return v; }
static muon_value *v_ushort(uint16_t x) { muon_value *v = NULL; MAKE(muon_value_ushort(x, &v)); return v; }
static muon_value *v_uint(uint32_t x) { muon_value *v = NULL; MAKE(muon_value_uint(x, &v)); return v; }
static muon_value *v_ulong(uint64_t x) { muon_value *v = NULL; MAKE(muon_value_ulong(x, &v)); return v; }
static muon_value *v_byte(int8_t x) { muon_value *v = NULL; MAKE(muon_value_byte(x, &v)); return v; }
static muon_value *v_short(int16_t x) { muon_value *v = NULL; MAKE(muon_value_short(x, &v)); return v; }
static muon_value *v_int(int32_t x) { muon_value *v = NULL; MAKE(muon_value_int(x, &v)); return v; }
static muon_value *v_long(int64_t x) { muon_value *v = NULL; MAKE(muon_value_long(x, &v)); return v; }
static muon_value *v_float_bits(uint32_t bits) {
    float f;
    muon_value *v = NULL;
    memcpy(&f, &bits, sizeof f);
    MAKE(muon_value_float(f, &v));
    return v;
}
static muon_value *v_double_bits(uint64_t bits) {
    double d;
    muon_value *v = NULL;
    memcpy(&d, &bits, sizeof d);
    MAKE(muon_value_double(d, &v));
    return v;
}
static muon_value *v_char(uint32_t c) { muon_value *v = NULL; MAKE(muon_value_char(c, &v)); return v; }
static muon_value *v_timestamp(int64_t ms) { muon_value *v = NULL; MAKE(muon_value_timestamp(ms, &v)); return v; }
static muon_value *v_uuid(const char *hex32) {
    uint8_t u[16];
    muon_value *v = NULL;
    for (int i = 0; i < 16; i++) {
        unsigned x = 0;
        if (sscanf(hex32 + 2 * i, "%2x", &x) != 1) {
            die("bad uuid literal %s", hex32);
        }
        u[i] = (uint8_t)x;
    }
    MAKE(muon_value_uuid(u, &v));
    return v;
}
static muon_value *v_binary(const void *p, size_t n) {
    muon_value *v = NULL;
    MAKE(muon_value_binary(p, n, &v));
    return v;
}
static muon_value *v_string(const char *s) { muon_value *v = NULL; MAKE(muon_value_string(s, &v)); return v; }
static muon_value *v_symbol(const char *s) { muon_value *v = NULL; MAKE(muon_value_symbol(s, &v)); return v; }

/* A list of the given values; the list takes them. */
static muon_value *v_list(int n, ...) {
    muon_value *l = NULL;
    va_list ap;
    MAKE(muon_value_list_new(&l));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        MAKE(muon_value_list_append(l, va_arg(ap, muon_value *)));
    }
    va_end(ap);
    return l;
}

/* A map of n key/value pairs; the map takes them. */
static muon_value *v_map(int n, ...) {
    muon_value *m = NULL;
    va_list ap;
    MAKE(muon_value_map_new(&m));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        muon_value *k = va_arg(ap, muon_value *);
        muon_value *x = va_arg(ap, muon_value *);
        MAKE(muon_value_map_put(m, k, x));
    }
    va_end(ap);
    return m;
}

static muon_value *v_array(muon_type t, int n, ...) {
    muon_value *a = NULL;
    va_list ap;
    MAKE(muon_value_array_new(t, &a));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        MAKE(muon_value_array_append(a, va_arg(ap, muon_value *)));
    }
    va_end(ap);
    return a;
}

static muon_value *v_described(muon_value *descriptor, muon_value *value) {
    muon_value *d = NULL;
    MAKE(muon_value_described_new(descriptor, value, &d));
    return d;
}

static char long_text[301];
static uint8_t long_binary[300];

typedef struct {
    const char *name;
    muon_value *value;
} named;

#define MAX_NAMED 96

/* Every simple AMQP type, at its limits and in its compact encodings: the
 * same list, in the same order, as scalars() in types_peer.py. */
static int scalars(named *out) {
    static const uint8_t bin4[] = {0x00, 0x01, 0xfe, 0xff};
    uint8_t dec128[16];
    muon_value *d128 = NULL;
    int n = 0;
    for (int i = 0; i < 16; i++) {
        dec128[i] = (uint8_t)(0x30 + i);
    }
    MAKE(muon_value_decimal128(dec128, &d128));
#define S(nm, val) (out[n].name = nm, out[n].value = (val), n++)
    S("null", v_null());
    S("bool-true", v_bool(true));
    S("bool-false", v_bool(false));
    S("ubyte-0", v_ubyte(0));
    S("ubyte-max", v_ubyte(255));
    S("ushort-0", v_ushort(0));
    S("ushort-max", v_ushort(65535));
    S("uint-0", v_uint(0));
    S("uint-small", v_uint(255));
    S("uint-max", v_uint(4294967295u));
    S("ulong-0", v_ulong(0));
    S("ulong-small", v_ulong(255));
    S("ulong-max", v_ulong(UINT64_MAX));
    S("byte-min", v_byte(-128));
    S("byte-max", v_byte(127));
    S("short-min", v_short(-32768));
    S("short-max", v_short(32767));
    S("int-min", v_int(INT32_MIN));
    S("int-small", v_int(-1));
    S("int-max", v_int(INT32_MAX));
    S("long-min", v_long(INT64_MIN));
    S("long-small", v_long(100));
    S("long-max", v_long(INT64_MAX));
    S("float", v_float_bits(0x3fc00000u));
    S("float-neg-zero", v_float_bits(0x80000000u));
    S("float-inf", v_float_bits(0x7f800000u));
    S("double", v_double_bits(0x400921fb54442d18ull));
    S("double-subnormal", v_double_bits(0x0000000000000001ull));
    S("double-neg-inf", v_double_bits(0xfff0000000000000ull));
    {
        muon_value *v = NULL;
        MAKE(muon_value_decimal32(0x22500001u, &v));
        S("decimal32", v);
    }
    {
        muon_value *v = NULL;
        MAKE(muon_value_decimal64(0x2238000000000001ull, &v));
        S("decimal64", v);
    }
    S("decimal128", d128);
    S("char", v_char('a'));
    S("char-astral", v_char(0x1F600));
    S("timestamp", v_timestamp(1700000000125ll));
    S("timestamp-negative", v_timestamp(-1000));
    S("uuid", v_uuid("123456789abcdef0123456789abcdef0"));
    S("binary-empty", v_binary("", 0));
    S("binary", v_binary(bin4, sizeof bin4));
    S("binary-long", v_binary(long_binary, sizeof long_binary));
    S("string-empty", v_string(""));
    S("string", v_string("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"));
    S("string-long", v_string(long_text));
    S("symbol", v_symbol("sym-bol"));
    S("symbol-long", v_symbol(long_text));
    return n;
}

static muon_value *ints_0_to_99(void) {
    muon_value *l = NULL;
    MAKE(muon_value_list_new(&l));
    for (int i = 0; i < 100; i++) {
        MAKE(muon_value_list_append(l, v_int(i)));
    }
    return l;
}

/* Lists, maps, arrays and described values: composites() in types_peer.py. */
static int composites(named *out) {
    int n = 0;
    muon_value *empty = NULL;
    S("list-empty", v_list(0));
    S("list", v_list(4, v_int(1), v_list(2, v_string("inner"), v_ubyte(2)),
                     v_map(1, v_string("k"), v_string("v")), v_null()));
    S("list-long", ints_0_to_99());
    S("map-empty", v_map(0));
    S("map", v_map(5, v_string("a"), v_int(1), v_symbol("b"), v_list(2, v_bool(true), v_bool(false)),
                   v_ulong(3), v_map(1, v_string("nested"), v_short(-3)), v_int(-1), v_null(),
                   v_uuid("00000000000000000000000000000001"), v_binary("\x01", 1)));
    MAKE(muon_value_array_new(MUON_TYPE_INT, &empty));
    S("array-empty", empty);
    S("array-int", v_array(MUON_TYPE_INT, 3, v_int(-1), v_int(0), v_int(INT32_MAX)));
    S("array-ulong", v_array(MUON_TYPE_ULONG, 2, v_ulong(0), v_ulong(UINT64_MAX)));
    S("array-double", v_array(MUON_TYPE_DOUBLE, 2, v_double_bits(0x3fe0000000000000ull),
                              v_double_bits(0xc002000000000000ull)));
    S("array-bool", v_array(MUON_TYPE_BOOL, 3, v_bool(true), v_bool(false), v_bool(true)));
    S("array-string", v_array(MUON_TYPE_STRING, 3, v_string("one"), v_string(""),
                              v_string("thr\xc3\xa9\xc3\xa9")));
    S("array-symbol", v_array(MUON_TYPE_SYMBOL, 2, v_symbol("x"), v_symbol(long_text)));
    S("array-uuid", v_array(MUON_TYPE_UUID, 2, v_uuid("00000000000000000000000000000000"),
                            v_uuid("ffffffffffffffffffffffffffffffff")));
    S("array-binary", v_array(MUON_TYPE_BINARY, 2, v_binary("", 0), v_binary("\xff", 1)));
    S("array-timestamp", v_array(MUON_TYPE_TIMESTAMP, 2, v_timestamp(0), v_timestamp(1700000000125ll)));
    S("array-list", v_array(MUON_TYPE_LIST, 2, v_list(2, v_int(1), v_string("x")), v_list(0)));
    S("array-map", v_array(MUON_TYPE_MAP, 2, v_map(1, v_string("k"), v_int(1)), v_map(0)));
    S("described-symbol", v_described(v_symbol("com.example:thing"), v_string("payload")));
    S("described-ulong", v_described(v_ulong(0x0000123400000001ull),
                                     v_list(2, v_int(1), v_symbol("two"))));
    return n;
}

static int body_only(named *out) {
    int n = 0;
    S("described-nested", v_described(v_symbol("outer"),
                                      v_described(v_ulong(7), v_map(1, v_string("in"),
                                                                    v_string("ner")))));
#undef S
    return n;
}

static muon_message *types_message(void) {
    named all[MAX_NAMED];
    char key[128];
    muon_message *m = NULL;
    check(muon_message_new(&m), "muon_message_new");
    muon_value *body = NULL;
    int n;

    if (!m) {
        die("muon_message_new failed");
    }
    check(muon_message_set_durable(m, true), "durable");
    check(muon_message_set_priority(m, 7), "priority");
    check(muon_message_set_ttl(m, 3600500), "ttl");
    check(muon_message_set_first_acquirer(m, true), "first-acquirer");
    check(muon_message_set_delivery_count(m, 3), "delivery-count");

    n = scalars(all);
    n += composites(all + n);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "x-opt-da-%s", all[i].name);
        muon_value *copy = NULL;
        check(muon_value_clone(all[i].value, &copy), "clone");
        check(muon_message_set_delivery_annotation(m, key, copy), key);
    }
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "x-opt-ma-%s", all[i].name);
        muon_value *copy = NULL;
        check(muon_value_clone(all[i].value, &copy), "clone");
        check(muon_message_set_annotation(m, key, copy), key);
    }

    check(muon_message_set_id(m, v_uuid("0123456789abcdef0123456789abcdef")), "message-id");
    check(muon_message_set_user_id(m, (const uint8_t *)"muon-user\x00\xff", 11), "user-id");
    check(muon_message_set_to(m, "types-to"), "to");
    check(muon_message_set_subject(m, "subject \xe2\x9c\x93"), "subject");
    check(muon_message_set_reply_to(m, "types-reply-to"), "reply-to");
    check(muon_message_set_correlation_id(m, v_ulong(UINT64_MAX)), "correlation-id");
    check(muon_message_set_content_type(m, "application/x-muon-test"), "content-type");
    check(muon_message_set_content_encoding(m, "identity"), "content-encoding");
    check(muon_message_set_absolute_expiry_time(m, 1700000003125ll), "absolute-expiry-time");
    check(muon_message_set_creation_time(m, 1700000000250ll), "creation-time");
    check(muon_message_set_group_id(m, "group \xe2\x9c\x93"), "group-id");
    check(muon_message_set_group_sequence(m, 123456789u), "group-sequence");
    check(muon_message_set_reply_to_group_id(m, "reply-group"), "reply-to-group-id");

    {
        named simple[MAX_NAMED];
        int k = scalars(simple);
        for (int i = 0; i < k; i++) {
            snprintf(key, sizeof key, "p-%s", simple[i].name);
            check(muon_message_set_property(m, key, simple[i].value), key);
        }
    }

    n += body_only(all + n);
    check(muon_value_list_new(&body), "body list");
    for (int i = 0; i < n; i++) {
        check(muon_value_list_append(body, all[i].value), "body append");
    }
    check(muon_message_set_body(m, body), "body");
    return m;
}

/* ----------------------------------------- rebuilding a received message */

/* A NUL-terminated copy of a symbol or string value (for the setters that
 * take C strings). */
static char *text_of(const muon_value *v) {
    muon_bytes x = {0};
    if (muon_value_get_symbol(v, &x) != MUON_RESULT_OK) {
        check(muon_value_get_string(v, &x), "key is neither symbol nor string");
    }
    char *s = malloc(x.len + 1);
    if (!s) {
        die("out of memory");
    }
    memcpy(s, x.ptr, x.len);
    s[x.len] = '\0';
    return s;
}

static muon_value *copy_of(const muon_value *v) {
    muon_value *c = NULL;
    check(muon_value_clone(v, &c), "clone");
    return c;
}

/* A new message made field by field from what the getters return, so the
 * echo proves decoding and encoding, not a copy of the bytes. */
static muon_message *rebuild(const muon_message *in) {
    muon_message *m = NULL;
    check(muon_message_new(&m), "muon_message_new");
    uint32_t u32 = 0;
    int64_t i64 = 0;
    muon_bytes bytes = {0};

    check(muon_message_set_durable(m, muon_message_durable(in)), "durable");
    check(muon_message_set_priority(m, muon_message_priority(in)), "priority");
    uint64_t ttl = 0;
    if (muon_message_ttl(in, &ttl)) {
        check(muon_message_set_ttl(m, ttl), "ttl");
    }
    check(muon_message_set_first_acquirer(m, muon_message_first_acquirer(in)), "first-acquirer");
    check(muon_message_set_delivery_count(m, muon_message_delivery_count(in)), "delivery-count");
    for (size_t i = 0; i < muon_message_delivery_annotation_count(in); i++) {
        char *k = text_of(muon_message_delivery_annotation_key(in, i));
        check(muon_message_set_delivery_annotation(
                  m, k, copy_of(muon_message_delivery_annotation_value(in, i))),
              "delivery annotation");
        free(k);
    }
    for (size_t i = 0; i < muon_message_annotation_count(in); i++) {
        char *k = text_of(muon_message_annotation_key(in, i));
        check(muon_message_set_annotation(m, k, copy_of(muon_message_annotation_value(in, i))),
              "message annotation");
        free(k);
    }
    if (muon_message_id(in)) {
        check(muon_message_set_id(m, copy_of(muon_message_id(in))), "message-id");
    }
    if (muon_message_user_id(in, &bytes)) {
        check(muon_message_set_user_id(m, bytes.ptr, bytes.len), "user-id");
    }
    check(muon_message_set_to(m, muon_message_to(in)), "to");
    check(muon_message_set_subject(m, muon_message_subject(in)), "subject");
    check(muon_message_set_reply_to(m, muon_message_reply_to(in)), "reply-to");
    if (muon_message_correlation_id(in)) {
        check(muon_message_set_correlation_id(m, copy_of(muon_message_correlation_id(in))),
              "correlation-id");
    }
    check(muon_message_set_content_type(m, muon_message_content_type(in)), "content-type");
    check(muon_message_set_content_encoding(m, muon_message_content_encoding(in)),
          "content-encoding");
    if (muon_message_absolute_expiry_time(in, &i64)) {
        check(muon_message_set_absolute_expiry_time(m, i64), "absolute-expiry-time");
    }
    if (muon_message_creation_time(in, &i64)) {
        check(muon_message_set_creation_time(m, i64), "creation-time");
    }
    check(muon_message_set_group_id(m, muon_message_group_id(in)), "group-id");
    if (muon_message_group_sequence(in, &u32)) {
        check(muon_message_set_group_sequence(m, u32), "group-sequence");
    }
    check(muon_message_set_reply_to_group_id(m, muon_message_reply_to_group_id(in)),
          "reply-to-group-id");
    for (size_t i = 0; i < muon_message_property_count(in); i++) {
        char *k = text_of(muon_message_property_key(in, i));
        check(muon_message_set_property(m, k, copy_of(muon_message_property_value(in, i))),
              "application property");
        free(k);
    }
    for (size_t i = 0; i < muon_message_footer_count(in); i++) {
        char *k = text_of(muon_message_footer_key(in, i));
        check(muon_message_set_footer(m, k, copy_of(muon_message_footer_value(in, i))), "footer");
        free(k);
    }
    switch (muon_message_body_kind(in)) {
    case MUON_BODY_KIND_VALUE:
        check(muon_message_set_body(m, copy_of(muon_message_body(in))), "body");
        break;
    case MUON_BODY_KIND_DATA:
        for (size_t i = 0; i < muon_message_body_data_count(in); i++) {
            check(muon_message_body_data(in, i, &bytes), "body data");
            check(muon_message_add_body_data(m, bytes.ptr, bytes.len), "add body data");
        }
        break;
    case MUON_BODY_KIND_SEQUENCE:
        for (size_t s = 0; s < muon_message_body_sequence_count(in); s++) {
            muon_value *l = NULL;
            check(muon_value_list_new(&l), "list");
            for (size_t i = 0; i < muon_message_body_sequence_len(in, s); i++) {
                check(muon_value_list_append(l, copy_of(muon_message_body_sequence_get(in, s, i))),
                      "sequence item");
            }
            check(muon_message_add_body_sequence(m, l), "add body sequence");
        }
        break;
    default:
        die("received message has no body");
    }
    return m;
}

/* -------------------------------------------------------------- the app */

#define MAX_LINKS 64

typedef struct {
    const char *role, *url, *address, *reply_address, *kind, *expect;
    int count, links, max_frame;
    size_t size;

    muon_loop *loop;
    muon_connection conn;
    muon_sender senders[MAX_LINKS];
    muon_receiver receivers[MAX_LINKS];
    int nreceivers;
    int sent[MAX_LINKS];
    int received[MAX_LINKS];
    int nsenders;
    int confirmed, total_received;
    muon_sender echo_sender;
    muon_message *pending_echo;
    bool done, failed;
    int exit_code;
} app;

static app A;

static void finish(int code) {
    if (A.done) {
        return;
    }
    A.done = true;
    A.exit_code = code;
    muon_connection_close(A.conn);
}

static void report_condition(const char *where, const muon_condition *c) {
    const char *name = c ? muon_condition_name(c) : NULL;
    const char *desc = c ? muon_condition_description(c) : NULL;
    printf("condition %s: %s (%s)\n", name ? name : "(none)", desc ? desc : "", where);
    fflush(stdout);
    if (A.done) {
        return;
    }
    if (A.expect && name && strcmp(name, A.expect) == 0) {
        printf("ok the peer refused with %s\n", name);
        finish(0);
    } else {
        printf("error: %s: %s: %s\n", where, name ? name : "(no condition)", desc ? desc : "");
        finish(1);
    }
    fflush(stdout);
    muon_loop_stop(A.loop);
}

static int link_index_sender(muon_sender s) {
    for (int i = 0; i < A.nsenders; i++) {
        if (A.senders[i].index == s.index && A.senders[i].generation == s.generation) {
            return i;
        }
    }
    return -1;
}

static muon_message *make(int n) {
    muon_message *m;
    if (strcmp(A.kind, "types") == 0) {
        return types_message();
    }
    check(muon_message_new(&m), "muon_message_new");
    if (strcmp(A.kind, "big") == 0) {
        uint8_t *p = malloc(A.size ? A.size : 1);
        if (!p) {
            die("out of memory");
        }
        for (size_t i = 0; i < A.size; i++) {
            p[i] = (uint8_t)(i % 251);
        }
        check(muon_message_set_body_binary(m, p, A.size), "big body");
        free(p);
        return m;
    }
    check(muon_message_set_id(m, v_ulong((uint64_t)n)), "id");
    check(muon_message_set_body(m, v_map(1, v_string("sequence"), v_long(n))), "seq body");
    return m;
}

static void on_link_flow(void *u, const muon_event *ev) {
    (void)u;
    muon_sender s = muon_event_sender(ev);
    if (A.done) {
        return;
    }
    if (strcmp(A.role, "echo") == 0) {
        if (A.pending_echo && muon_sender_credit(s) > 0) {
            check(muon_sender_send(s, A.pending_echo, NULL), "echo send");
            muon_message_free(A.pending_echo);
            A.pending_echo = NULL;
        }
        return;
    }
    int i = link_index_sender(s);
    if (i < 0) {
        return;
    }
    while (muon_sender_credit(s) > 0 && A.sent[i] < A.count) {
        int n = ++A.sent[i];
        muon_message *m = make(n);
        if (strcmp(A.kind, "types") == 0 && n == 1) {
            print_canonical("sent ", m);
        }
        check(muon_sender_send(s, m, NULL), "send");
        muon_message_free(m);
    }
}

static void on_accepted(void *u, const muon_event *ev) {
    (void)u;
    (void)ev;
    A.confirmed++;
    if (strcmp(A.role, "echo") == 0) {
        printf("ok echoed\n");
        finish(0);
    } else if (strcmp(A.role, "send") == 0 && A.confirmed == A.count * A.links) {
        printf("ok %d messages confirmed\n", A.confirmed);
        finish(0);
    } else if (strcmp(A.role, "fail") == 0) {
        printf("error: the message was accepted; expected the peer to refuse\n");
        finish(1);
    }
    fflush(stdout);
}

static void on_rejected(void *u, const muon_event *ev) {
    (void)u;
    (void)ev;
    printf("error: a message was rejected\n");
    finish(1);
}

static void on_released(void *u, const muon_event *ev) {
    (void)u;
    (void)ev;
    printf("error: a message was released\n");
    finish(1);
}

static void check_big(const muon_message *m) {
    size_t total = 0;
    muon_bytes d = {0};
    if (muon_message_body_kind(m) != MUON_BODY_KIND_DATA) {
        die("big message: body kind %d, not data", (int)muon_message_body_kind(m));
    }
    for (size_t s = 0; s < muon_message_body_data_count(m); s++) {
        check(muon_message_body_data(m, s, &d), "body data");
        for (size_t i = 0; i < d.len; i++) {
            if (d.ptr[i] != (uint8_t)((total + i) % 251)) {
                die("big message differs at byte %zu", total + i);
            }
        }
        total += d.len;
    }
    if (total != A.size) {
        die("big message has %zu bytes, expected %zu", total, A.size);
    }
    printf("got big message of %zu bytes, intact\n", total);
}

static void check_seq(const muon_message *m, int n) {
    const muon_value *body = muon_message_body(m);
    const muon_value *seq = muon_value_map_get_string_key(body, "sequence");
    int64_t x = -1;
    if (muon_value_len(body) != 1 || !seq || muon_value_get_long(seq, &x) != MUON_RESULT_OK ||
        x != n) {
        buf b = {0};
        fmt(&b, body);
        die("message %d has body %s", n, b.p);
    }
}

static void on_message(void *u, const muon_event *ev) {
    (void)u;
    const muon_message *m = muon_event_message(ev);
    muon_receiver r = muon_event_receiver(ev);
    int i = 0;
    if (A.done) {
        return;
    }
    while (i < A.nreceivers && (A.receivers[i].index != r.index ||
                                A.receivers[i].generation != r.generation)) {
        i++;
    }
    if (i == A.nreceivers) {
        die("a message arrived on a receiver this program did not open");
    }
    A.received[i]++;
    A.total_received++;
    if (strcmp(A.kind, "types") == 0) {
        print_canonical("got ", m);
    } else if (strcmp(A.kind, "big") == 0) {
        check_big(m);
    } else {
        check_seq(m, A.received[i]);
    }
    if (strcmp(A.role, "echo") == 0) {
        muon_message *copy = rebuild(m);
        if (muon_sender_credit(A.echo_sender) > 0) {
            check(muon_sender_send(A.echo_sender, copy, NULL), "echo send");
            muon_message_free(copy);
        } else {
            A.pending_echo = copy;
        }
        return;
    }
    if (A.total_received == A.count * A.links) {
        if (strcmp(A.kind, "seq") == 0) {
            printf("ok %d messages received\n", A.total_received);
        }
        fflush(stdout);
        finish(0);
    }
}

static void on_link_remote_close(void *u, const muon_event *ev) {
    (void)u;
    report_condition("link closed by the peer", muon_event_condition(ev));
}

static void on_session_remote_close(void *u, const muon_event *ev) {
    (void)u;
    report_condition("session ended by the peer", muon_event_condition(ev));
}

static void on_connection_remote_close(void *u, const muon_event *ev) {
    (void)u;
    if (!A.done || muon_event_condition(ev)) {
        report_condition("connection closed by the peer", muon_event_condition(ev));
    }
}

static void on_disconnected(void *u, const muon_event *ev) {
    (void)u;
    if (!A.done) {
        report_condition("disconnected", muon_event_condition(ev));
    }
}

static void open_links(muon_connection c) {
    char addr[512];
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_accepted = on_accepted;
    h.on_rejected = on_rejected;
    h.on_released = on_released;
    h.on_link_remote_close = on_link_remote_close;
    int n = A.links;
    for (int i = 0; i < n; i++) {
        if (A.links > 1) {
            snprintf(addr, sizeof addr, "%s-%d", A.address, i);
        } else {
            snprintf(addr, sizeof addr, "%s", A.address);
        }
        if (strcmp(A.role, "send") == 0 || strcmp(A.role, "fail") == 0) {
            check(muon_connection_open_sender(c, addr, NULL, &h, NULL, &A.senders[A.nsenders++]),
                  "open sender");
        } else {
            check(muon_connection_open_receiver(c, addr, NULL, &h, NULL,
                                                &A.receivers[A.nreceivers++]),
                  "open receiver");
        }
    }
    if (strcmp(A.role, "echo") == 0) {
        check(muon_connection_open_sender(c, A.reply_address, NULL, &h, NULL, &A.echo_sender),
              "open echo sender");
    }
}

static void on_connection_remote_open(void *u, const muon_event *ev) {
    (void)u;
    open_links(muon_event_connection(ev));
}

static const char *arg(int *i, int argc, char **argv) {
    if (*i + 1 >= argc) {
        die("%s needs a value", argv[*i]);
    }
    return argv[++*i];
}

int main(int argc, char **argv) {
    for (int i = 0; i < 300; i++) {
        long_text[i] = (char)('0' + i % 10);
        long_binary[i] = (uint8_t)(i < 256 ? i : i - 256);
    }
    long_text[300] = '\0';
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc < 2) {
        die("usage: types ROLE [options] (see the comment at the top of types.c)");
    }
    A.role = argv[1];
    A.address = "examples";
    A.kind = "types";
    A.count = 1;
    A.size = 10 * 1024 * 1024;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--connect")) A.url = arg(&i, argc, argv);
        else if (!strcmp(argv[i], "--address")) A.address = arg(&i, argc, argv);
        else if (!strcmp(argv[i], "--reply-address")) A.reply_address = arg(&i, argc, argv);
        else if (!strcmp(argv[i], "--kind")) A.kind = arg(&i, argc, argv);
        else if (!strcmp(argv[i], "--count")) A.count = atoi(arg(&i, argc, argv));
        else if (!strcmp(argv[i], "--size")) A.size = (size_t)strtoull(arg(&i, argc, argv), NULL, 10);
        else if (!strcmp(argv[i], "--links")) A.links = atoi(arg(&i, argc, argv));
        else if (!strcmp(argv[i], "--max-frame")) A.max_frame = atoi(arg(&i, argc, argv));
        else if (!strcmp(argv[i], "--expect-condition")) A.expect = arg(&i, argc, argv);
        else die("unknown option %s", argv[i]);
    }
    if (!strcmp(A.role, "expected")) {
        muon_message *m = types_message();
        print_canonical("", m);
        muon_message_free(m);
        return 0;
    }
    if (strcmp(A.role, "send") && strcmp(A.role, "recv") && strcmp(A.role, "echo") &&
        strcmp(A.role, "fail")) {
        die("unknown role %s", A.role);
    }
    if (!A.url) {
        die("--connect URL is required");
    }
    if (!strcmp(A.role, "echo") && !A.reply_address) {
        die("echo needs --reply-address");
    }
    if (A.links <= 0) {
        A.links = 1;
    }
    if (A.links > MAX_LINKS) {
        die("at most %d links", MAX_LINKS);
    }

    if (muon_loop_new(&A.loop) != MUON_RESULT_OK) {
        die("muon_loop_new failed");
    }
    muon_connection_options *opts = NULL;
    check(muon_connection_options_new(&opts), "connection options");
    /* Credentials come from the URL; PLAIN over plain TCP is what the
     * brokers in this suite accept on loopback. */
    check(muon_connection_options_set_allow_insecure_plain(opts, true), "allow PLAIN");
    if (A.max_frame > 0) {
        check(muon_connection_options_set_max_frame_size(opts, (uint32_t)A.max_frame),
              "max frame size");
    }
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_open = on_connection_remote_open;
    ch.on_connection_remote_close = on_connection_remote_close;
    ch.on_session_remote_close = on_session_remote_close;
    ch.on_disconnected = on_disconnected;
    check(muon_loop_connect(A.loop, A.url, opts, &ch, NULL, &A.conn), "connect");
    muon_connection_options_free(opts);

    muon_result rc = muon_loop_run(A.loop);
    if (A.pending_echo) {
        muon_message_free(A.pending_echo);
    }
    muon_loop_free(A.loop);
    if (!A.done) {
        printf("error: the loop ended (%s) before the work was done\n", muon_result_name(rc));
        return 1;
    }
    return A.exit_code;
}
