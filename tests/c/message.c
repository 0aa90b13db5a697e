/* message.c: every muon_message function from C, compiled and run by
 * tests/c_values.rs. It checks results itself (exit 1 with a message on
 * stderr at the first failure) and prints formatted fields, which the Rust
 * test compares line by line. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#include "value_check.h"

static muon_value *new_string(const char *s) {
  muon_value *v = NULL;
  OK(muon_value_string(s, &v));
  return v;
}

static muon_value *new_int(int32_t n) {
  muon_value *v = NULL;
  OK(muon_value_int(n, &v));
  return v;
}

static int bytes_eq(muon_bytes b, const void *p, size_t n) {
  return b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0);
}

/* Encodes `m` into a new buffer; the caller frees it. */
static uint8_t *encode(const muon_message *m, size_t *len) {
  size_t need = 0;
  EXPECT(muon_message_encode(m, NULL, 0, &need), MUON_RESULT_BUFFER_TOO_SMALL);
  uint8_t *buf = malloc(need);
  CHECK(buf != NULL);
  OK(muon_message_encode(m, buf, need, len));
  CHECK(*len == need);
  return buf;
}

/* Encodes a, decodes it, and checks that the copy encodes to the same
 * bytes; returns the decoded copy. */
static muon_message *round_trip(const muon_message *m) {
  size_t len = 0, len2 = 0;
  uint8_t *wire = encode(m, &len);
  muon_message *back = NULL;
  OK(muon_message_decode(wire, len, &back));
  uint8_t *wire2 = encode(back, &len2);
  CHECK(len == len2 && memcmp(wire, wire2, len) == 0);
  free(wire);
  free(wire2);
  return back;
}

static void hello(void) {
  muon_message *m = NULL;
  OK(muon_message_new(&m));
  CHECK(m != NULL);
  CHECK(muon_message_body_kind(m) == MUON_BODY_KIND_VALUE);
  CHECK(muon_value_type(muon_message_body(m)) == MUON_TYPE_NULL);
  OK(muon_message_set_body_string(m, "Hello World!"));
  muon_message *back = round_trip(m);
  char text[256];
  muon_value_format(muon_message_body(back), text, sizeof text);
  printf("%s\n", text);
  size_t len = 0;
  uint8_t *wire = encode(m, &len);
  printf("hello: %zu bytes\n", len);
  free(wire);
  muon_message_free(back);
  muon_message_free(m);
}

static const uint8_t UUID[16] = {0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17,
                                 0x28, 0x39, 0x4a, 0x5b, 0x6c, 0x7d, 0x8e, 0x9f};

static void add_rest(muon_message *m);

/* Sets every field of every section. */
static muon_message *full_message(void) {
  muon_message *m = NULL;
  OK(muon_message_new(&m));
  muon_value *v = NULL;

  /* header */
  OK(muon_message_set_durable(m, true));
  OK(muon_message_set_priority(m, 9));
  OK(muon_message_set_ttl(m, 60000));
  OK(muon_message_set_first_acquirer(m, true));
  OK(muon_message_set_delivery_count(m, 3));

  /* properties */
  OK(muon_value_ulong(42, &v));
  OK(muon_message_set_id(m, v));
  OK(muon_message_set_user_id(m, (const uint8_t *)"guest\0x", 7));
  OK(muon_message_set_to(m, "queue://orders"));
  OK(muon_message_set_subject(m, "new order"));
  OK(muon_message_set_reply_to(m, "reply-queue"));
  OK(muon_value_uuid(UUID, &v));
  OK(muon_message_set_correlation_id(m, v));
  OK(muon_message_set_content_type(m, "text/plain"));
  OK(muon_message_set_content_encoding(m, "gzip"));
  OK(muon_message_set_absolute_expiry_time(m, 1700000060000));
  OK(muon_message_set_creation_time(m, 1700000000000));
  OK(muon_message_set_group_id(m, "group-\xc3\xa9"));
  OK(muon_message_set_group_sequence(m, 0)); /* 0 is a value, not "absent" */
  OK(muon_message_set_reply_to_group_id(m, "replies"));

  add_rest(m);
  return m;
}

/* The application properties, annotations, footer and body of
 * full_message(). */
static void add_rest(muon_message *m) {
  muon_value *v = NULL;
  /* application properties: simple values only */
  OK(muon_message_set_property(m, "sequence", new_int(1)));
  OK(muon_message_set_property(m, "name", new_string("widget")));
  OK(muon_value_double(2.5, &v));
  OK(muon_message_set_property(m, "price", v));
  OK(muon_value_bool(false, &v));
  OK(muon_message_set_property(m, "gift", v));
  OK(muon_message_set_property(m, "sequence", new_int(2))); /* replaces */

  /* message annotations: symbol keys, any values */
  OK(muon_value_symbol("topic", &v));
  OK(muon_message_set_annotation(m, "x-opt-jms-dest", v));
  muon_value *list = NULL;
  OK(muon_value_list_new(&list));
  OK(muon_value_list_append(list, new_int(1)));
  OK(muon_value_list_append(list, new_string("a")));
  OK(muon_message_set_annotation(m, "x-opt-trace", list));

  /* delivery annotations and footer */
  OK(muon_value_timestamp(1700000000001, &v));
  OK(muon_message_set_delivery_annotation(m, "x-opt-hop", v));
  OK(muon_value_binary((const uint8_t *)"\x01\x02", 2, &v));
  OK(muon_message_set_footer(m, "x-opt-hmac", v));

  /* body: a map */
  muon_value *body = NULL;
  OK(muon_value_map_new(&body));
  OK(muon_value_map_put(body, new_string("sequence"), new_int(1)));
  OK(muon_message_set_body(m, body));
}

/* Reads every field back, printing the formatted ones. */
static void check_full(const muon_message *m) {
  CHECK(muon_message_durable(m) == true);
  CHECK(muon_message_priority(m) == 9);
  uint64_t ttl = 0;
  CHECK(muon_message_ttl(m, &ttl) && ttl == 60000);
  CHECK(muon_message_first_acquirer(m) == true);
  CHECK(muon_message_delivery_count(m) == 3);

  uint64_t id = 0;
  OK(muon_value_get_ulong(muon_message_id(m), &id));
  CHECK(id == 42);
  muon_bytes user = {NULL, 0};
  CHECK(muon_message_user_id(m, &user) && bytes_eq(user, "guest\0x", 7));
  CHECK(strcmp(muon_message_to(m), "queue://orders") == 0);
  CHECK(strcmp(muon_message_subject(m), "new order") == 0);
  CHECK(strcmp(muon_message_reply_to(m), "reply-queue") == 0);
  uint8_t uuid[16];
  OK(muon_value_get_uuid(muon_message_correlation_id(m), uuid));
  CHECK(memcmp(uuid, UUID, 16) == 0);
  CHECK(strcmp(muon_message_content_type(m), "text/plain") == 0);
  CHECK(strcmp(muon_message_content_encoding(m), "gzip") == 0);
  int64_t t = 0;
  CHECK(muon_message_absolute_expiry_time(m, &t) && t == 1700000060000);
  CHECK(muon_message_creation_time(m, &t) && t == 1700000000000);
  CHECK(strcmp(muon_message_group_id(m), "group-\xc3\xa9") == 0);
  uint32_t u32 = 99;
  CHECK(muon_message_group_sequence(m, &u32) && u32 == 0);
  CHECK(strcmp(muon_message_reply_to_group_id(m), "replies") == 0);

  printf("id: %s\n", fmt(muon_message_id(m)));
  printf("correlation-id: %s\n", fmt(muon_message_correlation_id(m)));

  CHECK(muon_message_property_count(m) == 4);
  for (size_t i = 0; i < muon_message_property_count(m); i++) {
    char pkey[64];
    muon_value_format(muon_message_property_key(m, i), pkey, sizeof pkey);
    printf("property %s = %s\n", pkey, fmt(muon_message_property_value(m, i)));
  }
  CHECK(muon_message_property_key(m, 4) == NULL && muon_message_property_value(m, 4) == NULL);
  int32_t n = 0;
  OK(muon_value_get_int(muon_message_property(m, "sequence"), &n));
  CHECK(n == 2);
  CHECK(muon_message_property(m, "missing") == NULL);

  CHECK(muon_message_annotation_count(m) == 2);
  printf("annotation %s = %s\n", "x-opt-trace", fmt(muon_message_annotation(m, "x-opt-trace")));
  CHECK(muon_value_type(muon_message_annotation_key(m, 0)) == MUON_TYPE_SYMBOL);
  printf("annotation[0] = %s\n", fmt(muon_message_annotation_value(m, 0)));
  CHECK(muon_message_annotation_key(m, 2) == NULL);

  CHECK(muon_message_delivery_annotation_count(m) == 1);
  char key[64]; /* fmt() reuses one buffer: format keys separately */
  muon_value_format(muon_message_delivery_annotation_key(m, 0), key, sizeof key);
  printf("delivery annotation %s = %s\n", key, fmt(muon_message_delivery_annotation_value(m, 0)));
  CHECK(muon_message_delivery_annotation(m, "x-opt-hop") == muon_message_delivery_annotation_value(m, 0));

  CHECK(muon_message_footer_count(m) == 1);
  muon_value_format(muon_message_footer_key(m, 0), key, sizeof key);
  printf("footer %s = %s\n", key, fmt(muon_message_footer_value(m, 0)));
  CHECK(muon_message_footer(m, "x-opt-hmac") == muon_message_footer_value(m, 0));
  CHECK(muon_message_footer(m, "x-opt-hop") == NULL);

  CHECK(muon_message_body_kind(m) == MUON_BODY_KIND_VALUE);
  printf("body: %s\n", fmt(muon_message_body(m)));
}

static void full(void) {
  muon_message *m = full_message();
  check_full(m);

  size_t len = 0;
  uint8_t *wire = encode(m, &len);
  printf("full: %zu bytes\n", len);

  muon_message *back = round_trip(m);
  check_full(back);

  muon_message *copy = NULL;
  OK(muon_message_clone(back, &copy));
  muon_message_free(back);
  size_t len2 = 0;
  uint8_t *wire2 = encode(copy, &len2);
  CHECK(len2 == len && memcmp(wire, wire2, len) == 0);
  check_full(copy);
  muon_message_free(copy);

  /* Garbage and every truncation: a decode error, never a crash. */
  muon_message *bad = NULL;
  EXPECT(muon_message_decode((const uint8_t *)"\x00\x53\x99\x40", 4, &bad), MUON_RESULT_DECODE_ERROR);
  EXPECT(muon_message_decode((const uint8_t *)"garbage!", 8, &bad), MUON_RESULT_DECODE_ERROR);
  for (size_t cut = 1; cut < len; cut++) {
    muon_message *p = NULL;
    muon_result rc = muon_message_decode(wire, cut, &p);
    /* A cut between whole sections is a valid, shorter message. */
    CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_DECODE_ERROR);
    muon_message_free(p);
  }
  for (size_t at = 0; at < len; at++) {
    memcpy(wire2, wire, len);
    wire2[at] ^= 0x5a;
    muon_message *p = NULL;
    muon_result rc = muon_message_decode(wire2, len, &p);
    CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_DECODE_ERROR);
    muon_message_free(p);
  }
  CHECK(bad == NULL);
  /* An empty payload has no body section: it reads as the null body. */
  OK(muon_message_decode(NULL, 0, &bad));
  CHECK(muon_value_type(muon_message_body(bad)) == MUON_TYPE_NULL);
  muon_message_free(bad);

  free(wire);
  free(wire2);
  muon_message_free(m);
}

/* Removing fields, defaults, and the lifetime of returned strings. */
static void clearing(void) {
  muon_message *m = full_message();
  const char *to = muon_message_to(m);
  OK(muon_message_set_subject(m, "changed")); /* another field: `to` stays valid */
  CHECK(strcmp(to, "queue://orders") == 0 && to == muon_message_to(m));

  OK(muon_message_set_to(m, NULL));
  CHECK(muon_message_to(m) == NULL);
  OK(muon_message_set_subject(m, NULL));
  OK(muon_message_set_reply_to(m, NULL));
  OK(muon_message_set_content_type(m, NULL));
  OK(muon_message_set_content_encoding(m, NULL));
  OK(muon_message_set_group_id(m, NULL));
  OK(muon_message_set_reply_to_group_id(m, NULL));
  OK(muon_message_set_id(m, NULL));
  OK(muon_message_set_correlation_id(m, NULL));
  OK(muon_message_set_user_id(m, NULL, 0));
  OK(muon_message_clear_absolute_expiry_time(m));
  OK(muon_message_clear_creation_time(m));
  OK(muon_message_clear_group_sequence(m));
  CHECK(muon_message_id(m) == NULL && muon_message_correlation_id(m) == NULL);
  muon_bytes user = {(const uint8_t *)"keep", 4};
  CHECK(!muon_message_user_id(m, &user) && bytes_eq(user, "keep", 4));
  int64_t t = 7;
  CHECK(!muon_message_creation_time(m, &t) && t == 7);
  CHECK(!muon_message_absolute_expiry_time(m, &t) && t == 7);
  uint32_t u32 = 7;
  CHECK(!muon_message_group_sequence(m, &u32) && u32 == 7);

  OK(muon_message_set_durable(m, false));
  OK(muon_message_set_priority(m, 4));
  OK(muon_message_clear_ttl(m));
  OK(muon_message_set_first_acquirer(m, false));
  OK(muon_message_set_delivery_count(m, 0));
  uint64_t ttl = 7;
  CHECK(!muon_message_ttl(m, &ttl) && ttl == 7);
  CHECK(muon_message_priority(m) == 4);

  /* All header and properties fields at their defaults: those sections
   * are gone, and the message encodes exactly like one that never had
   * them. */
  muon_message *plain = NULL;
  OK(muon_message_new(&plain));
  add_rest(plain);
  size_t a = 0, b = 0;
  uint8_t *wa = encode(m, &a);
  uint8_t *wb = encode(plain, &b);
  CHECK(a == b && memcmp(wa, wb, a) == 0);
  free(wa);
  free(wb);
  muon_message_free(plain);

  /* Empty user-id is not absent. */
  OK(muon_message_set_user_id(m, (const uint8_t *)"", 0));
  CHECK(muon_message_user_id(m, &user) && user.len == 0);

  /* Defaults of a fresh message. */
  muon_message *fresh = NULL;
  OK(muon_message_new(&fresh));
  CHECK(!muon_message_durable(fresh) && muon_message_priority(fresh) == 4);
  CHECK(!muon_message_first_acquirer(fresh) && muon_message_delivery_count(fresh) == 0);
  CHECK(muon_message_to(fresh) == NULL && muon_message_property_count(fresh) == 0);
  CHECK(muon_message_annotation_count(fresh) == 0 && muon_message_footer_count(fresh) == 0);
  CHECK(muon_message_delivery_annotation_count(fresh) == 0);
  CHECK(muon_message_property_key(fresh, 0) == NULL);
  size_t len = 0;
  uint8_t *w = encode(fresh, &len);
  CHECK(len == 4 && memcmp(w, "\x00\x53\x77\x40", 4) == 0); /* amqp-value(null) */
  free(w);
  muon_message_free(fresh);
  muon_message_free(m);
}

static void bodies(void) {
  muon_message *m = NULL;
  OK(muon_message_new(&m));
  muon_bytes chunk = {NULL, 0};

  OK(muon_message_set_body_binary(m, (const uint8_t *)"\x00\x01\x02", 3));
  CHECK(muon_message_body_kind(m) == MUON_BODY_KIND_DATA);
  CHECK(muon_message_body(m) == NULL);
  OK(muon_message_add_body_data(m, (const uint8_t *)"more", 4));
  OK(muon_message_add_body_data(m, NULL, 0));
  CHECK(muon_message_body_data_count(m) == 3);
  OK(muon_message_body_data(m, 1, &chunk));
  CHECK(bytes_eq(chunk, "more", 4));
  chunk.len = 99;
  EXPECT(muon_message_body_data(m, 3, &chunk), MUON_RESULT_OUT_OF_RANGE);
  CHECK(chunk.len == 99);
  muon_message *back = round_trip(m);
  CHECK(muon_message_body_data_count(back) == 3);
  OK(muon_message_body_data(back, 0, &chunk));
  CHECK(bytes_eq(chunk, "\x00\x01\x02", 3));
  OK(muon_message_body_data(back, 2, &chunk));
  CHECK(chunk.len == 0);
  CHECK(muon_message_body_sequence_count(back) == 0);
  muon_message_free(back);
  printf("data sections: %zu\n", muon_message_body_data_count(m));

  /* Sequence sections. */
  muon_value *list = NULL;
  OK(muon_value_list_new(&list));
  OK(muon_value_list_append(list, new_int(1)));
  OK(muon_value_list_append(list, new_string("b")));
  OK(muon_message_add_body_sequence(m, list)); /* replaces the data body */
  OK(muon_value_list_new(&list));
  OK(muon_message_add_body_sequence(m, list));
  CHECK(muon_message_body_kind(m) == MUON_BODY_KIND_SEQUENCE);
  EXPECT(muon_message_body_data(m, 0, &chunk), MUON_RESULT_WRONG_TYPE);
  CHECK(muon_message_body_data_count(m) == 0 && muon_message_body(m) == NULL);
  back = round_trip(m);
  CHECK(muon_message_body_sequence_count(back) == 2);
  CHECK(muon_message_body_sequence_len(back, 0) == 2);
  CHECK(muon_message_body_sequence_len(back, 1) == 0);
  CHECK(muon_message_body_sequence_len(back, 2) == 0);
  printf("sequence[0][1]: %s\n", fmt(muon_message_body_sequence_get(back, 0, 1)));
  CHECK(muon_message_body_sequence_get(back, 0, 2) == NULL);
  CHECK(muon_message_body_sequence_get(back, 1, 0) == NULL);
  muon_message_free(back);

  muon_value *notlist = new_int(5);
  EXPECT(muon_message_add_body_sequence(m, notlist), MUON_RESULT_WRONG_TYPE);
  CHECK(muon_value_type(notlist) == MUON_TYPE_INT); /* still ours */
  OK(muon_message_set_body(m, notlist));            /* now it moves in */
  CHECK(muon_message_body_kind(m) == MUON_BODY_KIND_VALUE);
  CHECK(muon_message_body_sequence_count(m) == 0);
  printf("body: %s\n", fmt(muon_message_body(m)));
  muon_message_free(m);
}

/* WRONG_TYPE, bad text and NULL arguments: clear results, no crash, and
 * nothing consumed on error. */
static void errors(void) {
  muon_message *m = NULL;
  OK(muon_message_new(&m));
  muon_value *list = NULL, *v = NULL;
  OK(muon_value_list_new(&list));

  EXPECT(muon_message_set_id(m, list), MUON_RESULT_WRONG_TYPE);
  EXPECT(muon_message_set_correlation_id(m, list), MUON_RESULT_WRONG_TYPE);
  EXPECT(muon_message_set_property(m, "k", list), MUON_RESULT_WRONG_TYPE);
  CHECK(muon_message_property_count(m) == 0);
  OK(muon_value_int(1, &v));
  EXPECT(muon_message_set_id(m, v), MUON_RESULT_WRONG_TYPE); /* int is not a message-id type */
  muon_value_free(v); /* refused, so still ours */
  muon_value *desc = NULL, *described = NULL;
  OK(muon_value_ulong(1, &desc));
  OK(muon_value_described_new(desc, new_int(1), &described));
  EXPECT(muon_message_set_property(m, "k", described), MUON_RESULT_WRONG_TYPE);
  OK(muon_message_set_annotation(m, "x-described", described));
  EXPECT(muon_message_set_property(m, "\xff", list), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_message_set_annotation(m, "caf\xc3\xa9", list), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_message_set_delivery_annotation(m, "\xc3", list), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_message_set_footer(m, "caf\xc3\xa9", list), MUON_RESULT_INVALID_ARGUMENT);
  OK(muon_message_set_annotation(m, "x-list", list)); /* any value goes in annotations */
  CHECK(muon_message_annotation_count(m) == 2);

  EXPECT(muon_message_set_to(m, "\xff"), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_message_set_subject(m, "\xc3\x28"), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_message_set_content_type(m, "t\xc3\xa9xt"), MUON_RESULT_INVALID_ARGUMENT);
  EXPECT(muon_message_set_content_encoding(m, "\xff"), MUON_RESULT_INVALID_UTF8);
  EXPECT(muon_message_set_body_string(m, "\xff"), MUON_RESULT_INVALID_UTF8);
  CHECK(muon_message_to(m) == NULL && muon_message_subject(m) == NULL);
  CHECK(muon_message_content_type(m) == NULL);

  /* NULL message: every setter says NULL_ARGUMENT, every getter its default. */
  muon_value *keep = new_int(1);
  EXPECT(muon_message_set_body(NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_body(m, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_body_string(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_body_string(m, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_body_binary(NULL, NULL, 0), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_body_binary(m, NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_add_body_data(NULL, NULL, 0), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_add_body_sequence(NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_add_body_sequence(m, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_durable(NULL, true), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_priority(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_ttl(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  /* AMQP carries at most 2^32 - 1 ms: more is refused, the field unchanged. */
  OK(muon_message_set_ttl(m, UINT32_MAX));
  EXPECT(muon_message_set_ttl(m, (uint64_t)UINT32_MAX + 1), MUON_RESULT_OUT_OF_RANGE);
  uint64_t kept = 0;
  CHECK(muon_message_ttl(m, &kept) && kept == UINT32_MAX);
  OK(muon_message_clear_ttl(m));
  EXPECT(muon_message_clear_ttl(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_first_acquirer(NULL, true), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_delivery_count(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_id(NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_correlation_id(NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_user_id(NULL, NULL, 0), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_to(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_subject(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_reply_to(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_content_type(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_content_encoding(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_absolute_expiry_time(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_clear_absolute_expiry_time(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_creation_time(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_clear_creation_time(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_group_id(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_group_sequence(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_clear_group_sequence(NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_reply_to_group_id(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_property(NULL, "k", keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_property(m, NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_property(m, "k", NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_annotation(NULL, "k", keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_delivery_annotation(m, NULL, keep), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_set_footer(m, "k", NULL), MUON_RESULT_NULL_ARGUMENT);
  muon_message *out = (muon_message *)0x1;
  EXPECT(muon_message_clone(NULL, &out), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_clone(m, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_decode(NULL, 5, &out), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_decode((const uint8_t *)"", 0, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(out == (muon_message *)0x1);
  size_t len = 5;
  EXPECT(muon_message_encode(NULL, NULL, 0, &len), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_encode(m, NULL, 0, NULL), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_encode(m, NULL, 4096, &len), MUON_RESULT_NULL_ARGUMENT);
  CHECK(len == 5);
  muon_bytes chunk = {NULL, 5};
  EXPECT(muon_message_body_data(NULL, 0, &chunk), MUON_RESULT_NULL_ARGUMENT);
  EXPECT(muon_message_body_data(m, 0, NULL), MUON_RESULT_NULL_ARGUMENT);
  CHECK(chunk.len == 5);
  CHECK(muon_value_type(keep) == MUON_TYPE_INT); /* never consumed */
  muon_value_free(keep);

  uint32_t u32 = 5;
  int64_t t = 5;
  CHECK(muon_message_body_kind(NULL) == MUON_BODY_KIND_NONE);
  CHECK(muon_message_body(NULL) == NULL);
  CHECK(muon_message_body_data_count(NULL) == 0);
  CHECK(muon_message_body_sequence_count(NULL) == 0);
  CHECK(muon_message_body_sequence_len(NULL, 0) == 0);
  CHECK(muon_message_body_sequence_get(NULL, 0, 0) == NULL);
  CHECK(!muon_message_durable(NULL) && muon_message_priority(NULL) == 4);
  uint64_t ttl = 5;
  CHECK(!muon_message_ttl(NULL, &ttl) && !muon_message_ttl(m, NULL) && ttl == 5);
  CHECK(!muon_message_first_acquirer(NULL) && muon_message_delivery_count(NULL) == 0);
  CHECK(muon_message_id(NULL) == NULL && muon_message_correlation_id(NULL) == NULL);
  CHECK(!muon_message_user_id(NULL, &chunk));
  CHECK(muon_message_to(NULL) == NULL && muon_message_subject(NULL) == NULL);
  CHECK(muon_message_reply_to(NULL) == NULL && muon_message_content_type(NULL) == NULL);
  CHECK(muon_message_content_encoding(NULL) == NULL && muon_message_group_id(NULL) == NULL);
  CHECK(muon_message_reply_to_group_id(NULL) == NULL);
  CHECK(!muon_message_absolute_expiry_time(NULL, &t) && !muon_message_creation_time(NULL, &t));
  CHECK(!muon_message_group_sequence(NULL, &u32) && t == 5 && u32 == 5);
  CHECK(muon_message_property(NULL, "k") == NULL && muon_message_property(m, NULL) == NULL);
  CHECK(muon_message_property_count(NULL) == 0 && muon_message_property_key(NULL, 0) == NULL);
  CHECK(muon_message_property_value(NULL, 0) == NULL);
  CHECK(muon_message_annotation(NULL, "k") == NULL && muon_message_annotation_count(NULL) == 0);
  CHECK(muon_message_annotation_key(NULL, 0) == NULL && muon_message_annotation_value(NULL, 0) == NULL);
  CHECK(muon_message_delivery_annotation(NULL, "k") == NULL);
  CHECK(muon_message_delivery_annotation_count(NULL) == 0);
  CHECK(muon_message_delivery_annotation_key(NULL, 0) == NULL);
  CHECK(muon_message_delivery_annotation_value(NULL, 0) == NULL);
  CHECK(muon_message_footer(NULL, "k") == NULL && muon_message_footer_count(NULL) == 0);
  CHECK(muon_message_footer_key(NULL, 0) == NULL && muon_message_footer_value(NULL, 0) == NULL);

  muon_message_free(NULL);
  muon_message_free(m);
}

static muon_value *nested(int levels) {
  muon_value *v = new_int(0);
  for (int i = 0; i < levels; i++) {
    muon_value *l = NULL;
    OK(muon_value_list_new(&l));
    OK(muon_value_list_append(l, v));
    v = l;
  }
  return v;
}

/* An annotation map is one level around its values: a value there may nest
 * 63 levels, one level less than a body. */
static void nesting(void) {
  muon_message *m = NULL;
  OK(muon_message_new(&m));
  muon_value *deep = nested(64);
  EXPECT(muon_message_set_annotation(m, "deep", deep), MUON_RESULT_OUT_OF_RANGE);
  EXPECT(muon_message_set_delivery_annotation(m, "deep", deep), MUON_RESULT_OUT_OF_RANGE);
  EXPECT(muon_message_set_footer(m, "deep", deep), MUON_RESULT_OUT_OF_RANGE);
  OK(muon_message_set_body(m, deep)); /* a body may be 64 deep */
  OK(muon_message_set_annotation(m, "deep", nested(63)));
  muon_message *back = round_trip(m);
  CHECK(muon_value_format(muon_message_body(back), NULL, 0) == 64 * 2 + 1);
  CHECK(muon_value_len(muon_message_annotation(back, "deep")) == 1);
  printf("nesting: ok\n");
  muon_message_free(back);
  muon_message_free(m);
}

/* A decoded message keeps its bytes until it changes: encoding it, or a copy
 * of it, gives them back as they were, even where muon would have chosen a
 * shorter encoding (here a list32 properties section). */
static void verbatim(void) {
  static const uint8_t wire[] = {
      0x00, 0x53, 0x73, 0xd0, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, /* properties: list32 */
      0xa1, 0x02, 'm',  '1',                                                  /* message-id "m1" */
      0x00, 0x53, 0x77, 0xa1, 0x05, 'h',  'e',  'l',  'l',  'o'};             /* amqp-value "hello" */
  muon_message *m = NULL;
  OK(muon_message_decode(wire, sizeof wire, &m));
  size_t len = 0;
  uint8_t *out = encode(m, &len);
  CHECK(len == sizeof wire && memcmp(out, wire, len) == 0);
  free(out);
  muon_message *copy = NULL;
  OK(muon_message_clone(m, &copy));
  out = encode(copy, &len);
  CHECK(len == sizeof wire && memcmp(out, wire, len) == 0);
  free(out);
  CHECK(strcmp(fmt(muon_message_body(copy)), "hello") == 0);
  /* Changed, the copy is encoded afresh (list8, and the subject); the
   * original keeps its bytes. */
  OK(muon_message_set_subject(copy, "changed"));
  out = encode(copy, &len);
  CHECK(len != sizeof wire);
  muon_message *back = NULL;
  OK(muon_message_decode(out, len, &back));
  CHECK(strcmp(muon_message_subject(back), "changed") == 0);
  CHECK(strcmp(fmt(muon_message_body(back)), "hello") == 0);
  CHECK(strcmp(fmt(muon_message_id(back)), "m1") == 0);
  free(out);
  out = encode(m, &len);
  CHECK(len == sizeof wire && memcmp(out, wire, len) == 0);
  free(out);
  muon_message_free(back);
  muon_message_free(copy);
  muon_message_free(m);
}

int main(void) {
  verbatim();
  hello();
  full();
  clearing();
  bodies();
  errors();
  nesting();
  printf("message: ok\n");
  return 0;
}
