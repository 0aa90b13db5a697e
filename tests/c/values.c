/* values.c: every muon_value function from C, compiled and run by
 * tests/c_values.rs. It checks results itself (exit 1 with a message on
 * stderr at the first failure) and prints formatted values, which the Rust
 * test compares line by line. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#include "value_check.h"

static void show(const char *label, const muon_value *v) {
  printf("%s: %s\n", label, fmt(v));
}

static int bytes_eq(muon_bytes b, const void *p, size_t n) {
  return b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0);
}

static const uint8_t UUID[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t DEC128[16] = {0x22, 0x08, 0, 0, 0, 0, 0, 0,
                                   0,    0,    0, 0, 0, 0, 0, 0x01};

static void results(void) {
  CHECK(MUON_RESULT_OK == 0);
  CHECK(strcmp(muon_result_name(MUON_RESULT_OK), "MUON_RESULT_OK") == 0);
  CHECK(strcmp(muon_result_name(MUON_RESULT_WRONG_TYPE), "MUON_RESULT_WRONG_TYPE") == 0);
  CHECK(strcmp(muon_result_name(MUON_RESULT_PANIC), "MUON_RESULT_PANIC") == 0);
  /* An enum parameter takes any number from C: unknown ones are named so. */
  CHECK(strcmp(muon_result_name((muon_result)12345), "MUON_RESULT_UNKNOWN") == 0);
  CHECK(strcmp(muon_result_name((muon_result)-1), "MUON_RESULT_UNKNOWN") == 0);
  printf("%d %s: %s\n", MUON_RESULT_DECODE_ERROR, muon_result_name(MUON_RESULT_DECODE_ERROR),
         muon_result_message(MUON_RESULT_DECODE_ERROR));
  printf("%s\n", muon_result_message((muon_result)-7));
}

/* Builds each scalar, prints it, and reads it back with its getter. */
static void scalars(void) {
  muon_value *v = NULL;

  OK(muon_value_null(&v));
  CHECK(muon_value_type(v) == MUON_TYPE_NULL);
  show("null", v);
  muon_value_free(v);

  bool b = false;
  OK(muon_value_bool(true, &v));
  OK(muon_value_get_bool(v, &b));
  CHECK(b && muon_value_type(v) == MUON_TYPE_BOOL);
  show("bool", v);
  muon_value_free(v);

  uint8_t ub = 0;
  OK(muon_value_ubyte(255, &v));
  OK(muon_value_get_ubyte(v, &ub));
  CHECK(ub == 255 && muon_value_type(v) == MUON_TYPE_UBYTE);
  show("ubyte", v);
  muon_value_free(v);

  uint16_t us = 0;
  OK(muon_value_ushort(65535, &v));
  OK(muon_value_get_ushort(v, &us));
  CHECK(us == 65535 && muon_value_type(v) == MUON_TYPE_USHORT);
  show("ushort", v);
  muon_value_free(v);

  uint32_t ui = 0;
  OK(muon_value_uint(UINT32_MAX, &v));
  OK(muon_value_get_uint(v, &ui));
  CHECK(ui == UINT32_MAX && muon_value_type(v) == MUON_TYPE_UINT);
  show("uint", v);
  muon_value_free(v);

  uint64_t ul = 0;
  OK(muon_value_ulong(UINT64_MAX, &v));
  OK(muon_value_get_ulong(v, &ul));
  CHECK(ul == UINT64_MAX && muon_value_type(v) == MUON_TYPE_ULONG);
  show("ulong", v);
  muon_value_free(v);

  int8_t by = 0;
  OK(muon_value_byte(INT8_MIN, &v));
  OK(muon_value_get_byte(v, &by));
  CHECK(by == INT8_MIN && muon_value_type(v) == MUON_TYPE_BYTE);
  show("byte", v);
  muon_value_free(v);

  int16_t sh = 0;
  OK(muon_value_short(INT16_MIN, &v));
  OK(muon_value_get_short(v, &sh));
  CHECK(sh == INT16_MIN && muon_value_type(v) == MUON_TYPE_SHORT);
  show("short", v);
  muon_value_free(v);

  int32_t in = 0;
  OK(muon_value_int(INT32_MIN, &v));
  OK(muon_value_get_int(v, &in));
  CHECK(in == INT32_MIN && muon_value_type(v) == MUON_TYPE_INT);
  show("int", v);
  muon_value_free(v);

  int64_t lo = 0;
  OK(muon_value_long(INT64_MIN, &v));
  OK(muon_value_get_long(v, &lo));
  CHECK(lo == INT64_MIN && muon_value_type(v) == MUON_TYPE_LONG);
  show("long", v);
  muon_value_free(v);

  float f = 0;
  OK(muon_value_float(1.5f, &v));
  OK(muon_value_get_float(v, &f));
  CHECK(f == 1.5f && muon_value_type(v) == MUON_TYPE_FLOAT);
  show("float", v);
  muon_value_free(v);
  OK(muon_value_float(0.1f, &v));
  show("float", v);
  muon_value_free(v);

  double d = 0;
  OK(muon_value_double(0.1, &v));
  OK(muon_value_get_double(v, &d));
  CHECK(d == 0.1 && muon_value_type(v) == MUON_TYPE_DOUBLE);
  show("double", v);
  muon_value_free(v);
  OK(muon_value_double(1e16, &v));
  show("double", v);
  muon_value_free(v);
  OK(muon_value_double(-2.0, &v));
  show("double", v);
  muon_value_free(v);

  uint32_t d32 = 0;
  OK(muon_value_decimal32(0x30800001u, &v));
  OK(muon_value_get_decimal32(v, &d32));
  CHECK(d32 == 0x30800001u && muon_value_type(v) == MUON_TYPE_DECIMAL32);
  show("decimal32", v);
  muon_value_free(v);

  uint64_t d64 = 0;
  OK(muon_value_decimal64(0x31c0000000000001u, &v));
  OK(muon_value_get_decimal64(v, &d64));
  CHECK(d64 == 0x31c0000000000001u && muon_value_type(v) == MUON_TYPE_DECIMAL64);
  show("decimal64", v);
  muon_value_free(v);

  uint8_t b16[16] = {0};
  OK(muon_value_decimal128(DEC128, &v));
  OK(muon_value_get_decimal128(v, b16));
  CHECK(memcmp(b16, DEC128, 16) == 0 && muon_value_type(v) == MUON_TYPE_DECIMAL128);
  show("decimal128", v);
  muon_value_free(v);

  uint32_t cp = 0;
  OK(muon_value_char(0xe9, &v));
  OK(muon_value_get_char(v, &cp));
  CHECK(cp == 0xe9 && muon_value_type(v) == MUON_TYPE_CHAR);
  show("char", v);
  muon_value_free(v);
  EXPECT(muon_value_char(0xd800, &v), MUON_RESULT_OUT_OF_RANGE);
  EXPECT(muon_value_char(0x110000, &v), MUON_RESULT_OUT_OF_RANGE);

  int64_t ts = 0;
  OK(muon_value_timestamp(1700000000000, &v));
  OK(muon_value_get_timestamp(v, &ts));
  CHECK(ts == 1700000000000 && muon_value_type(v) == MUON_TYPE_TIMESTAMP);
  show("timestamp", v);
  muon_value_free(v);

  memset(b16, 0, sizeof b16);
  OK(muon_value_uuid(UUID, &v));
  OK(muon_value_get_uuid(v, b16));
  CHECK(memcmp(b16, UUID, 16) == 0 && muon_value_type(v) == MUON_TYPE_UUID);
  show("uuid", v);
  muon_value_free(v);

  muon_bytes view = {NULL, 0};
  OK(muon_value_binary((const uint8_t *)"\0ab'\xff", 5, &v));
  OK(muon_value_get_binary(v, &view));
  CHECK(bytes_eq(view, "\0ab'\xff", 5) && muon_value_type(v) == MUON_TYPE_BINARY);
  show("binary", v);
  muon_value_free(v);
  OK(muon_value_binary(NULL, 0, &v)); /* empty binary: NULL is fine for 0 bytes */
  show("binary", v);
  muon_value_free(v);

  OK(muon_value_string("Hello World!", &v));
  OK(muon_value_get_string(v, &view));
  CHECK(bytes_eq(view, "Hello World!", 12) && muon_value_type(v) == MUON_TYPE_STRING);
  show("string", v);
  char text[32];
  size_t len = 0;
  OK(muon_value_get_string_copy(v, text, sizeof text, &len));
  CHECK(len == 12 && strcmp(text, "Hello World!") == 0);
  /* Too small: the size is reported, the buffer untouched. */
  memset(text, 'x', sizeof text);
  len = 0;
  EXPECT(muon_value_get_string_copy(v, text, 12, &len), MUON_RESULT_BUFFER_TOO_SMALL);
  CHECK(len == 12 && text[0] == 'x');
  EXPECT(muon_value_get_string_copy(v, NULL, 0, &len), MUON_RESULT_BUFFER_TOO_SMALL);
  CHECK(len == 12);
  muon_value_free(v);

  OK(muon_value_string("caf\xc3\xa9 'q'", &v));
  show("string", v);
  muon_value_free(v);

  OK(muon_value_symbol("sym", &v));
  OK(muon_value_get_symbol(v, &view));
  CHECK(bytes_eq(view, "sym", 3) && muon_value_type(v) == MUON_TYPE_SYMBOL);
  show("symbol", v);
  muon_value_free(v);
  OK(muon_value_symbol("two words", &v));
  show("symbol", v);
  muon_value_free(v);
}

/* Every getter on a value of the wrong type: WRONG_TYPE, out untouched. */
static void wrong_types(void) {
  muon_value *s = NULL, *i = NULL;
  OK(muon_value_string("x", &s));
  OK(muon_value_int(7, &i));

  bool b = true;
  EXPECT(muon_value_get_bool(s, &b), MUON_RESULT_WRONG_TYPE);
  CHECK(b == true);
  uint8_t ub = 42;
  EXPECT(muon_value_get_ubyte(s, &ub), MUON_RESULT_WRONG_TYPE);
  CHECK(ub == 42);
  uint16_t us = 42;
  EXPECT(muon_value_get_ushort(s, &us), MUON_RESULT_WRONG_TYPE);
  CHECK(us == 42);
  uint32_t ui = 42;
  EXPECT(muon_value_get_uint(s, &ui), MUON_RESULT_WRONG_TYPE);
  CHECK(ui == 42);
  uint64_t ul = 42;
  EXPECT(muon_value_get_ulong(s, &ul), MUON_RESULT_WRONG_TYPE);
  CHECK(ul == 42);
  int8_t by = 42;
  EXPECT(muon_value_get_byte(s, &by), MUON_RESULT_WRONG_TYPE);
  CHECK(by == 42);
  int16_t sh = 42;
  EXPECT(muon_value_get_short(s, &sh), MUON_RESULT_WRONG_TYPE);
  CHECK(sh == 42);
  int32_t in = 42;
  EXPECT(muon_value_get_int(s, &in), MUON_RESULT_WRONG_TYPE);
  CHECK(in == 42);
  int64_t lo = 42;
  EXPECT(muon_value_get_long(i, &lo), MUON_RESULT_WRONG_TYPE); /* int is not long */
  CHECK(lo == 42);
  float f = 42;
  EXPECT(muon_value_get_float(s, &f), MUON_RESULT_WRONG_TYPE);
  CHECK(f == 42);
  double d = 42;
  EXPECT(muon_value_get_double(s, &d), MUON_RESULT_WRONG_TYPE);
  CHECK(d == 42);
  uint32_t d32 = 42;
  EXPECT(muon_value_get_decimal32(s, &d32), MUON_RESULT_WRONG_TYPE);
  CHECK(d32 == 42);
  uint64_t d64 = 42;
  EXPECT(muon_value_get_decimal64(s, &d64), MUON_RESULT_WRONG_TYPE);
  CHECK(d64 == 42);
  uint8_t b16[16];
  memset(b16, 42, sizeof b16);
  EXPECT(muon_value_get_decimal128(s, b16), MUON_RESULT_WRONG_TYPE);
  CHECK(b16[0] == 42 && b16[15] == 42);
  EXPECT(muon_value_get_uuid(s, b16), MUON_RESULT_WRONG_TYPE);
  CHECK(b16[0] == 42 && b16[15] == 42);
  uint32_t cp = 42;
  EXPECT(muon_value_get_char(s, &cp), MUON_RESULT_WRONG_TYPE);
  CHECK(cp == 42);
  int64_t ts = 42;
  EXPECT(muon_value_get_timestamp(s, &ts), MUON_RESULT_WRONG_TYPE);
  CHECK(ts == 42);
  muon_bytes view = {(const uint8_t *)"sentinel", 8};
  EXPECT(muon_value_get_binary(s, &view), MUON_RESULT_WRONG_TYPE);
  CHECK(bytes_eq(view, "sentinel", 8));
  EXPECT(muon_value_get_string(i, &view), MUON_RESULT_WRONG_TYPE);
  CHECK(bytes_eq(view, "sentinel", 8));
  EXPECT(muon_value_get_symbol(s, &view), MUON_RESULT_WRONG_TYPE);
  CHECK(bytes_eq(view, "sentinel", 8));
  char text[8] = "keep";
  size_t len = 42;
  EXPECT(muon_value_get_string_copy(i, text, sizeof text, &len), MUON_RESULT_WRONG_TYPE);
  CHECK(len == 42 && strcmp(text, "keep") == 0);
  uint64_t code = 42;
  EXPECT(muon_value_described_descriptor_code(s, &code), MUON_RESULT_WRONG_TYPE);
  CHECK(code == 42);
  EXPECT(muon_value_described_descriptor_symbol(s, &view), MUON_RESULT_WRONG_TYPE);
  CHECK(bytes_eq(view, "sentinel", 8));

  /* Infallible getters give their defaults. */
  CHECK(muon_value_len(s) == 0);
  CHECK(muon_value_list_get(s, 0) == NULL);
  CHECK(muon_value_map_key(s, 0) == NULL);
  CHECK(muon_value_map_value(s, 0) == NULL);
  CHECK(muon_value_map_get_string_key(s, "x") == NULL);
  CHECK(muon_value_map_get_symbol_key(s, "x") == NULL);
  CHECK(muon_value_array_type(s) == MUON_TYPE_NONE);
  CHECK(muon_value_array_get(s, 0) == NULL);
  CHECK(muon_value_described_value(s) == NULL);

  /* Containers refuse to be treated as another kind. */
  muon_value *item = NULL;
  OK(muon_value_int(1, &item));
  EXPECT(muon_value_list_append(s, item), MUON_RESULT_WRONG_TYPE);
  EXPECT(muon_value_array_append(s, item), MUON_RESULT_WRONG_TYPE);
  muon_value *k = NULL;
  OK(muon_value_int(2, &k));
  EXPECT(muon_value_map_put(s, k, item), MUON_RESULT_WRONG_TYPE);
  muon_value_free(k);
  muon_value_free(item); /* never consumed above */

  muon_value_free(s);
  muon_value_free(i);
}

/* NULL anywhere gives MUON_RESULT_NULL_ARGUMENT (or the default), never a
 * crash; bad text gives INVALID_UTF8 / INVALID_ARGUMENT. */
static void null_and_invalid(void) {
  muon_value *v = (muon_value *)0x1; /* a sentinel that must stay put */
  muon_value *const sentinel = v;
  EXPECT(muon_value_null(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_int(1, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_string(NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_symbol(NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_binary(NULL, 3, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_uuid(NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_decimal128(NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_string("\xff\xfe", &v), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_value_symbol("\xc3", &v), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_value_symbol("caf\xc3\xa9", &v), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_array_new((muon_type)999, &v), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_array_new((muon_type)-1, &v), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_array_new(MUON_TYPE_NONE, &v), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_array_new(MUON_TYPE_DESCRIBED, &v), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_list_new(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_map_new(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_clone(NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  CHECK(v == sentinel);

  muon_value *list = NULL, *item = NULL;
  OK(muon_value_list_new(&list));
  OK(muon_value_int(1, &item));
  EXPECT(muon_value_list_append(NULL, item), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_list_append(list, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_list_append(list, list), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_value_map_put(NULL, item, item), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_array_append(NULL, item), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_described_new(NULL, item, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_described_new(item, NULL, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_clone(list, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(v == sentinel);

  int32_t n = 5;
  EXPECT(muon_value_get_int(NULL, &n), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_get_int(item, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(n == 5);
  CHECK(muon_value_type(NULL) == MUON_TYPE_NONE);
  CHECK(muon_value_len(NULL) == 0);
  CHECK(muon_value_list_get(NULL, 0) == NULL);
  CHECK(muon_value_map_get_string_key(NULL, "k") == NULL);
  CHECK(muon_value_array_type(NULL) == MUON_TYPE_NONE);
  CHECK(muon_value_described_value(NULL) == NULL);
  size_t len = 9;
  char buf4[8] = "xyz";
  EXPECT(muon_value_encode(NULL, NULL, 0, &len), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_encode(item, NULL, 0, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_encode(item, NULL, 100, &len), MUON_RESULT_NULL_ARGUMENT);
  CHECK(len == 9);
  muon_value *str = NULL;
  OK(muon_value_string("abc", &str));
  EXPECT(muon_value_get_string_copy(str, NULL, 100, &len), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_get_string_copy(str, buf4, sizeof buf4, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(len == 9 && strcmp(buf4, "xyz") == 0);
  muon_value_free(str);
  EXPECT(muon_value_decode(NULL, 4, &v), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_value_decode((const uint8_t *)"\x40", 1, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(v == sentinel);
  char buf[4] = "abc";
  CHECK(muon_value_format(NULL, buf, sizeof buf) == 0 && buf[0] == '\0');
  CHECK(muon_value_format(item, NULL, 0) == 1);

  muon_value_free(NULL);
  muon_value_free(item);
  muon_value_free(list);
}

static muon_value *new_int(int32_t n) {
  muon_value *v = NULL;
  OK(muon_value_int(n, &v));
  return v;
}

static muon_value *new_string(const char *s) {
  muon_value *v = NULL;
  OK(muon_value_string(s, &v));
  return v;
}

static muon_value *new_symbol(const char *s) {
  muon_value *v = NULL;
  OK(muon_value_symbol(s, &v));
  return v;
}

/* Lists, maps, arrays, described values; views into them; encode and
 * decode; formatting with truncation. */
static void containers(void) {
  muon_value *map = NULL, *list = NULL, *inner = NULL, *array = NULL, *v = NULL;

  OK(muon_value_map_new(&map));
  OK(muon_value_map_put(map, new_string("sequence"), new_int(1)));
  show("map", map);

  OK(muon_value_list_new(&list));
  OK(muon_value_list_append(list, new_int(1)));
  OK(muon_value_list_append(list, new_string("two")));
  OK(muon_value_list_new(&inner));
  OK(muon_value_bool(true, &v));
  OK(muon_value_list_append(inner, v));
  OK(muon_value_null(&v));
  OK(muon_value_list_append(inner, v));
  OK(muon_value_list_append(list, inner));
  CHECK(muon_value_len(list) == 3);
  show("list", list);

  OK(muon_value_array_new(MUON_TYPE_INT, &array));
  OK(muon_value_array_append(array, new_int(1)));
  OK(muon_value_array_append(array, new_int(-200000)));
  /* A wrong-typed item is refused and stays the caller's. */
  muon_value *stray = new_string("not an int");
  EXPECT(muon_value_array_append(array, stray), MUON_RESULT_WRONG_TYPE);
  CHECK(muon_value_type(stray) == MUON_TYPE_STRING);
  muon_value_free(stray);
  CHECK(muon_value_array_type(array) == MUON_TYPE_INT);
  CHECK(muon_value_len(array) == 2);
  int32_t n = 0;
  OK(muon_value_get_int(muon_value_array_get(array, 1), &n));
  CHECK(n == -200000);
  CHECK(muon_value_array_get(array, 2) == NULL);
  show("array", array);

  muon_value *sym_array = NULL;
  OK(muon_value_array_new(MUON_TYPE_SYMBOL, &sym_array));
  OK(muon_value_array_append(sym_array, new_symbol("a")));
  OK(muon_value_array_append(sym_array, new_symbol("b-c")));
  show("array", sym_array);

  /* Described: numeric and symbolic descriptors. */
  muon_value *desc = NULL, *described = NULL, *body = NULL;
  OK(muon_value_ulong(0x70, &desc));
  OK(muon_value_list_new(&body));
  OK(muon_value_list_append(body, new_int(3)));
  OK(muon_value_described_new(desc, body, &described));
  uint64_t code = 0;
  OK(muon_value_described_descriptor_code(described, &code));
  CHECK(code == 0x70);
  muon_bytes view = {NULL, 0};
  EXPECT(muon_value_described_descriptor_symbol(described, &view), MUON_RESULT_WRONG_TYPE);
  CHECK(muon_value_type(muon_value_described_value(described)) == MUON_TYPE_LIST);
  show("described", described);

  muon_value *described2 = NULL;
  muon_value *bad_desc = new_string("a string is no descriptor");
  muon_value *payload = new_string("x");
  EXPECT(muon_value_described_new(bad_desc, payload, &described2), MUON_RESULT_WRONG_TYPE);
  CHECK(described2 == NULL);
  muon_value_free(bad_desc); /* both still ours after the error */
  OK(muon_value_described_new(new_symbol("com.example:thing"), payload, &described2));
  OK(muon_value_described_descriptor_symbol(described2, &view));
  CHECK(bytes_eq(view, "com.example:thing", 17));
  EXPECT(muon_value_described_descriptor_code(described2, &code), MUON_RESULT_WRONG_TYPE);
  CHECK(code == 0x70);
  show("described", described2);

  /* One map holding everything, with keys of several types. */
  OK(muon_value_map_put(map, new_symbol("list"), list));
  OK(muon_value_map_put(map, new_int(7), array));
  OK(muon_value_map_put(map, new_string("syms"), sym_array));
  OK(muon_value_map_put(map, new_string("described"), described));
  OK(muon_value_map_put(map, new_symbol("x-opt"), described2));
  muon_value *bin = NULL;
  OK(muon_value_binary((const uint8_t *)"\x00\x01", 2, &bin));
  OK(muon_value_map_put(map, new_string("bin"), bin));
  OK(muon_value_uuid(UUID, &v));
  OK(muon_value_map_put(map, new_string("uuid"), v));
  OK(muon_value_timestamp(-1, &v));
  OK(muon_value_map_put(map, new_string("ts"), v));
  OK(muon_value_char('c', &v));
  OK(muon_value_map_put(map, new_string("char"), v));
  OK(muon_value_map_put(map, new_string("empty"), new_string("")));
  /* Putting an existing key replaces its value, keeping its place. */
  OK(muon_value_map_put(map, new_string("sequence"), new_int(2)));
  CHECK(muon_value_len(map) == 11);
  show("map", map);

  /* Views. */
  OK(muon_value_get_int(muon_value_map_get_string_key(map, "sequence"), &n));
  CHECK(n == 2);
  CHECK(muon_value_map_get_string_key(map, "list") == NULL); /* a symbol key */
  const muon_value *l = muon_value_map_get_symbol_key(map, "list");
  CHECK(muon_value_type(l) == MUON_TYPE_LIST && muon_value_len(l) == 3);
  OK(muon_value_get_string(muon_value_list_get(l, 1), &view));
  CHECK(bytes_eq(view, "two", 3));
  CHECK(muon_value_list_get(l, 3) == NULL);
  CHECK(muon_value_type(muon_value_map_key(map, 2)) == MUON_TYPE_INT);
  CHECK(muon_value_type(muon_value_map_value(map, 2)) == MUON_TYPE_ARRAY);
  CHECK(muon_value_map_key(map, 11) == NULL && muon_value_map_value(map, 11) == NULL);
  CHECK(muon_value_map_get_string_key(map, "\xff") == NULL);

  /* Formatting: snprintf-style length and safe truncation. */
  char small[8];
  size_t full = muon_value_format(map, small, sizeof small);
  CHECK(full == strlen(fmt(map)) && full > sizeof small);
  CHECK(strlen(small) == sizeof small - 1 && memcmp(small, "{'seque", 7) == 0);
  CHECK(muon_value_format(map, NULL, 0) == full);
  muon_value *u = NULL;
  OK(muon_value_string("\xc3\xa9\xc3\xa9", &u)); /* "éé": 4 bytes */
  char cut[4];
  CHECK(muon_value_format(u, cut, sizeof cut) == 4);
  CHECK(strcmp(cut, "\xc3\xa9") == 0); /* never half a character */
  muon_value_free(u);

  /* Clone, then encode both: same bytes. */
  muon_value *copy = NULL;
  OK(muon_value_clone(map, &copy));
  size_t need = 0;
  EXPECT(muon_value_encode(map, NULL, 0, &need), MUON_RESULT_BUFFER_TOO_SMALL);
  CHECK(need > 0);
  uint8_t *wire = malloc(need), *wire2 = malloc(need);
  CHECK(wire && wire2);
  size_t len = 0, len2 = 0;
  EXPECT(muon_value_encode(map, wire, need - 1, &len), MUON_RESULT_BUFFER_TOO_SMALL);
  CHECK(len == need);
  OK(muon_value_encode(map, wire, need, &len));
  CHECK(len == need);
  OK(muon_value_encode(copy, wire2, need, &len2));
  CHECK(len2 == len && memcmp(wire, wire2, len) == 0);
  printf("encoded: %zu bytes\n", len);

  /* Decode: the same value back, the same bytes again. */
  muon_value *back = NULL;
  OK(muon_value_decode(wire, len, &back));
  char text1[1024];
  muon_value_format(map, text1, sizeof text1);
  CHECK(strcmp(text1, fmt(back)) == 0);
  memset(wire2, 0, need);
  OK(muon_value_encode(back, wire2, need, &len2));
  CHECK(len2 == len && memcmp(wire, wire2, len) == 0);
  show("decoded", back);

  /* Bad bytes: a decode error, never a crash; out untouched. */
  muon_value *bad = NULL;
  EXPECT(muon_value_decode(wire, len - 1, &bad), MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_value_decode((const uint8_t *)"\xff\x00", 2, &bad), MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_value_decode((const uint8_t *)"\x40\x40", 2, &bad), MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_value_decode((const uint8_t *)"\xa1\x02\xff\xfe", 4, &bad), MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_value_decode((const uint8_t *)"\xd0\xff\xff\xff\xff\x7f\xff\xff\xff", 9, &bad),
         MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_value_decode(NULL, 0, &bad), MUON_RESULT_DECODE_ERROR);
  /* Every prefix and every single-byte corruption of a real encoding. */
  for (size_t cut_at = 0; cut_at < len; cut_at++) {
    muon_value *p = NULL;
    EXPECT(muon_value_decode(wire, cut_at, &p), MUON_RESULT_DECODE_ERROR);
  }
  for (size_t at = 0; at < len; at++) {
    memcpy(wire2, wire, len);
    wire2[at] ^= 0xa5;
    muon_value *p = NULL;
    muon_result rc = muon_value_decode(wire2, len, &p);
    CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_DECODE_ERROR);
    muon_value_free(p);
  }
  CHECK(bad == NULL);

  free(wire);
  free(wire2);
  muon_value_free(back);
  muon_value_free(copy);
  muon_value_free(map);
}

/* Values may nest as deep as muon's decoder accepts (64 levels) and no
 * deeper: what C builds can always be read back. */
static muon_value *nested(int levels) {
  muon_value *v = NULL;
  OK(muon_value_int(0, &v));
  for (int i = 0; i < levels; i++) {
    muon_value *l = NULL;
    OK(muon_value_list_new(&l));
    OK(muon_value_list_append(l, v));
    v = l;
  }
  return v;
}

static void nesting(void) {
  muon_value *deep = nested(64), *outer = NULL, *key = NULL, *out = NULL;
  OK(muon_value_list_new(&outer));
  EXPECT(muon_value_list_append(outer, deep), MUON_RESULT_OUT_OF_RANGE);
  OK(muon_value_map_new(&out));
  OK(muon_value_int(1, &key));
  EXPECT(muon_value_map_put(out, key, deep), MUON_RESULT_OUT_OF_RANGE);
  EXPECT(muon_value_map_put(out, deep, key), MUON_RESULT_OUT_OF_RANGE);
  muon_value_free(out);
  OK(muon_value_array_new(MUON_TYPE_LIST, &out));
  EXPECT(muon_value_array_append(out, deep), MUON_RESULT_OUT_OF_RANGE);
  muon_value_free(out);
  out = NULL;
  EXPECT(muon_value_described_new(key, deep, &out), MUON_RESULT_WRONG_TYPE);
  muon_value_free(key);
  OK(muon_value_ulong(1, &key));
  EXPECT(muon_value_described_new(key, deep, &out), MUON_RESULT_OUT_OF_RANGE);
  CHECK(out == NULL);
  muon_value_free(key);
  muon_value_free(outer);

  /* 64 levels encode and decode. */
  size_t need = 0, len = 0;
  EXPECT(muon_value_encode(deep, NULL, 0, &need), MUON_RESULT_BUFFER_TOO_SMALL);
  uint8_t *wire = malloc(need);
  CHECK(wire != NULL);
  OK(muon_value_encode(deep, wire, need, &len));
  muon_value *back = NULL;
  OK(muon_value_decode(wire, len, &back));
  CHECK(muon_value_format(back, NULL, 0) == 64 * 2 + 1);
  printf("nesting: 64 levels kept, %zu bytes\n", len);
  free(wire);
  muon_value_free(back);
  muon_value_free(deep);
}

int main(void) {
  results();
  scalars();
  wrong_types();
  null_and_invalid();
  containers();
  nesting();
  printf("values: ok\n");
  return 0;
}
