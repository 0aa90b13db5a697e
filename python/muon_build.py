"""cffi (API mode) build of `muon._muon` over the repository's include/muon.h.

The declarations cffi needs are read from the header itself (comments,
preprocessor lines and the C++-only parts removed), so the binding follows
the header as cbindgen generates it. The module links target/release/libmuon.a
(or $CARGO_TARGET_DIR/release/libmuon.a) statically.
"""

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HEADER = REPO / "include" / "muon.h"


def declarations(text: str) -> str:
    """The header as cffi's cdef accepts it."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = text.replace("\\\n", " ")
    out = []
    skip = []  # one entry per open #if: True while its lines are dropped
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#"):
            word = s[1:].strip().split(None, 1)
            d = word[0] if word else ""
            rest = word[1] if len(word) > 1 else ""
            if d in ("if", "ifdef", "ifndef"):
                skip.append(d == "ifdef" and rest.strip() == "__cplusplus")
            elif d == "else" and skip:
                skip[-1] = not skip[-1] and not any(skip[:-1])
            elif d == "endif" and skip:
                skip.pop()
            continue
        if any(skip):
            continue
        out.append(line)
    return "\n".join(out)


def library_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    base = Path(target) if target else REPO / "target"
    if not base.is_absolute():
        base = Path.cwd() / base
    return base / "release"


# What muon_py_read_message fills: declared for cffi and defined for the C
# compiler from this one text.
PY_FIELDS = """
struct muon_py_fields {
    int body_kind;
    const struct muon_value *body, *id, *correlation_id;
    const char *reply_to, *subject, *to, *content_type, *content_encoding, *group_id,
        *reply_to_group_id;
    bool has_user_id, has_ttl, has_creation_time, has_expiry_time, has_group_sequence;
    bool durable, first_acquirer;
    uint8_t priority;
    uint32_t delivery_count, group_sequence;
    uint64_t ttl;
    int64_t creation_time, expiry_time;
    struct muon_bytes user_id;
    size_t properties, annotations, instructions, footer;
};
"""

CDEF_EXTRA = """
extern "Python" void muon_py_event(void *userdata, const struct muon_event *event);
extern "Python" void muon_py_free(void *userdata);
extern "Python" void muon_py_post(void *context);
extern const char muon_py_library_version[];
void muon_py_fill_handler(struct muon_handler *h, uint32_t mask, bool with_free);
struct muon_value *muon_py_null(void);
struct muon_value *muon_py_bool(bool v);
struct muon_value *muon_py_ubyte(uint8_t v);
struct muon_value *muon_py_ushort(uint16_t v);
struct muon_value *muon_py_uint(uint32_t v);
struct muon_value *muon_py_ulong(uint64_t v);
struct muon_value *muon_py_byte(int8_t v);
struct muon_value *muon_py_short(int16_t v);
struct muon_value *muon_py_int(int32_t v);
struct muon_value *muon_py_long(int64_t v);
struct muon_value *muon_py_float(float v);
struct muon_value *muon_py_double(double v);
struct muon_value *muon_py_decimal32(uint32_t v);
struct muon_value *muon_py_decimal64(uint64_t v);
struct muon_value *muon_py_decimal128(const uint8_t * v);
struct muon_value *muon_py_char(uint32_t v);
struct muon_value *muon_py_timestamp(int64_t v);
struct muon_value *muon_py_uuid(const uint8_t * v);
struct muon_value *muon_py_string(const char * v);
struct muon_value *muon_py_symbol(const char * v);
struct muon_value *muon_py_list_new(void);
struct muon_value *muon_py_map_new(void);
struct muon_value *muon_py_array_new(enum muon_type v);
struct muon_value *muon_py_binary(const uint8_t *p, size_t n);
struct muon_value *muon_py_described_new(struct muon_value *d, struct muon_value *v);
bool muon_py_get_bool(const struct muon_value *v);
uint8_t muon_py_get_ubyte(const struct muon_value *v);
uint16_t muon_py_get_ushort(const struct muon_value *v);
uint32_t muon_py_get_uint(const struct muon_value *v);
uint64_t muon_py_get_ulong(const struct muon_value *v);
int8_t muon_py_get_byte(const struct muon_value *v);
int16_t muon_py_get_short(const struct muon_value *v);
int32_t muon_py_get_int(const struct muon_value *v);
int64_t muon_py_get_long(const struct muon_value *v);
float muon_py_get_float(const struct muon_value *v);
double muon_py_get_double(const struct muon_value *v);
uint32_t muon_py_get_decimal32(const struct muon_value *v);
uint64_t muon_py_get_decimal64(const struct muon_value *v);
uint32_t muon_py_get_char(const struct muon_value *v);
int64_t muon_py_get_timestamp(const struct muon_value *v);
struct muon_bytes muon_py_get_binary(const struct muon_value *v);
struct muon_bytes muon_py_get_string(const struct muon_value *v);
struct muon_bytes muon_py_get_symbol(const struct muon_value *v);
struct muon_bytes muon_py_descriptor_symbol(const struct muon_value *v);
struct muon_message *muon_py_message_new(void);
""" + PY_FIELDS + """void muon_py_read_message(const struct muon_message *m, struct muon_py_fields *f);
"""

SOURCE = r"""
#include <string.h>
#include "muon.h"

static void muon_py_event(void *userdata, const struct muon_event *event);
static void muon_py_free(void *userdata);
static void muon_py_post(void *context);

const char muon_py_library_version[] = MUON_VERSION_STRING;

""" + PY_FIELDS + r"""
/* Every field of a message, in one call. */
void muon_py_read_message(const struct muon_message *m, struct muon_py_fields *f) {
    f->body_kind = (int)muon_message_body_kind(m);
    f->body = muon_message_body(m);
    f->id = muon_message_id(m);
    f->correlation_id = muon_message_correlation_id(m);
    f->reply_to = muon_message_reply_to(m);
    f->subject = muon_message_subject(m);
    f->to = muon_message_to(m);
    f->content_type = muon_message_content_type(m);
    f->content_encoding = muon_message_content_encoding(m);
    f->group_id = muon_message_group_id(m);
    f->reply_to_group_id = muon_message_reply_to_group_id(m);
    f->has_user_id = muon_message_user_id(m, &f->user_id);
    f->has_ttl = muon_message_ttl(m, &f->ttl);
    f->has_creation_time = muon_message_creation_time(m, &f->creation_time);
    f->has_expiry_time = muon_message_absolute_expiry_time(m, &f->expiry_time);
    f->has_group_sequence = muon_message_group_sequence(m, &f->group_sequence);
    f->durable = muon_message_durable(m);
    f->first_acquirer = muon_message_first_acquirer(m);
    f->priority = muon_message_priority(m);
    f->delivery_count = muon_message_delivery_count(m);
    f->properties = muon_message_property_count(m);
    f->annotations = muon_message_annotation_count(m);
    f->instructions = muon_message_delivery_annotation_count(m);
    f->footer = muon_message_footer_count(m);
}

/* Value constructors and getters without out-parameters: NULL (or 0) on failure. */
struct muon_value *muon_py_null(void) { struct muon_value *o = NULL; muon_value_null(&o); return o; }
struct muon_value *muon_py_bool(bool v) { struct muon_value *o = NULL; muon_value_bool(v, &o); return o; }
struct muon_value *muon_py_ubyte(uint8_t v) { struct muon_value *o = NULL; muon_value_ubyte(v, &o); return o; }
struct muon_value *muon_py_ushort(uint16_t v) { struct muon_value *o = NULL; muon_value_ushort(v, &o); return o; }
struct muon_value *muon_py_uint(uint32_t v) { struct muon_value *o = NULL; muon_value_uint(v, &o); return o; }
struct muon_value *muon_py_ulong(uint64_t v) { struct muon_value *o = NULL; muon_value_ulong(v, &o); return o; }
struct muon_value *muon_py_byte(int8_t v) { struct muon_value *o = NULL; muon_value_byte(v, &o); return o; }
struct muon_value *muon_py_short(int16_t v) { struct muon_value *o = NULL; muon_value_short(v, &o); return o; }
struct muon_value *muon_py_int(int32_t v) { struct muon_value *o = NULL; muon_value_int(v, &o); return o; }
struct muon_value *muon_py_long(int64_t v) { struct muon_value *o = NULL; muon_value_long(v, &o); return o; }
struct muon_value *muon_py_float(float v) { struct muon_value *o = NULL; muon_value_float(v, &o); return o; }
struct muon_value *muon_py_double(double v) { struct muon_value *o = NULL; muon_value_double(v, &o); return o; }
struct muon_value *muon_py_decimal32(uint32_t v) { struct muon_value *o = NULL; muon_value_decimal32(v, &o); return o; }
struct muon_value *muon_py_decimal64(uint64_t v) { struct muon_value *o = NULL; muon_value_decimal64(v, &o); return o; }
struct muon_value *muon_py_decimal128(const uint8_t * v) { struct muon_value *o = NULL; muon_value_decimal128(v, &o); return o; }
struct muon_value *muon_py_char(uint32_t v) { struct muon_value *o = NULL; muon_value_char(v, &o); return o; }
struct muon_value *muon_py_timestamp(int64_t v) { struct muon_value *o = NULL; muon_value_timestamp(v, &o); return o; }
struct muon_value *muon_py_uuid(const uint8_t * v) { struct muon_value *o = NULL; muon_value_uuid(v, &o); return o; }
struct muon_value *muon_py_string(const char * v) { struct muon_value *o = NULL; muon_value_string(v, &o); return o; }
struct muon_value *muon_py_symbol(const char * v) { struct muon_value *o = NULL; muon_value_symbol(v, &o); return o; }
struct muon_value *muon_py_list_new(void) { struct muon_value *o = NULL; muon_value_list_new(&o); return o; }
struct muon_value *muon_py_map_new(void) { struct muon_value *o = NULL; muon_value_map_new(&o); return o; }
struct muon_value *muon_py_array_new(enum muon_type v) { struct muon_value *o = NULL; muon_value_array_new(v, &o); return o; }
struct muon_value *muon_py_binary(const uint8_t *p, size_t n) { struct muon_value *o = NULL; muon_value_binary(p, n, &o); return o; }
struct muon_value *muon_py_described_new(struct muon_value *d, struct muon_value *v) { struct muon_value *o = NULL; if (muon_value_described_new(d, v, &o) != MUON_RESULT_OK) { muon_value_free(d); muon_value_free(v); } return o; }
bool muon_py_get_bool(const struct muon_value *v) { bool o = 0; muon_value_get_bool(v, &o); return o; }
uint8_t muon_py_get_ubyte(const struct muon_value *v) { uint8_t o = 0; muon_value_get_ubyte(v, &o); return o; }
uint16_t muon_py_get_ushort(const struct muon_value *v) { uint16_t o = 0; muon_value_get_ushort(v, &o); return o; }
uint32_t muon_py_get_uint(const struct muon_value *v) { uint32_t o = 0; muon_value_get_uint(v, &o); return o; }
uint64_t muon_py_get_ulong(const struct muon_value *v) { uint64_t o = 0; muon_value_get_ulong(v, &o); return o; }
int8_t muon_py_get_byte(const struct muon_value *v) { int8_t o = 0; muon_value_get_byte(v, &o); return o; }
int16_t muon_py_get_short(const struct muon_value *v) { int16_t o = 0; muon_value_get_short(v, &o); return o; }
int32_t muon_py_get_int(const struct muon_value *v) { int32_t o = 0; muon_value_get_int(v, &o); return o; }
int64_t muon_py_get_long(const struct muon_value *v) { int64_t o = 0; muon_value_get_long(v, &o); return o; }
float muon_py_get_float(const struct muon_value *v) { float o = 0; muon_value_get_float(v, &o); return o; }
double muon_py_get_double(const struct muon_value *v) { double o = 0; muon_value_get_double(v, &o); return o; }
uint32_t muon_py_get_decimal32(const struct muon_value *v) { uint32_t o = 0; muon_value_get_decimal32(v, &o); return o; }
uint64_t muon_py_get_decimal64(const struct muon_value *v) { uint64_t o = 0; muon_value_get_decimal64(v, &o); return o; }
uint32_t muon_py_get_char(const struct muon_value *v) { uint32_t o = 0; muon_value_get_char(v, &o); return o; }
int64_t muon_py_get_timestamp(const struct muon_value *v) { int64_t o = 0; muon_value_get_timestamp(v, &o); return o; }
struct muon_bytes muon_py_get_binary(const struct muon_value *v) { struct muon_bytes o = {0, 0}; muon_value_get_binary(v, &o); return o; }
struct muon_bytes muon_py_get_string(const struct muon_value *v) { struct muon_bytes o = {0, 0}; muon_value_get_string(v, &o); return o; }
struct muon_bytes muon_py_get_symbol(const struct muon_value *v) { struct muon_bytes o = {0, 0}; muon_value_get_symbol(v, &o); return o; }
struct muon_bytes muon_py_descriptor_symbol(const struct muon_value *v) { struct muon_bytes o = {0, 0}; muon_value_described_descriptor_symbol(v, &o); return o; }
struct muon_message *muon_py_message_new(void) { struct muon_message *o = NULL; muon_message_new(&o); return o; }

/* A handler table whose callbacks are muon_py_event for the event kinds
 * whose bit is set in `mask` (bit k for muon_event_kind k). */
void muon_py_fill_handler(struct muon_handler *h, uint32_t mask, bool with_free) {
    muon_callback *slot[26];
    memset(h, 0, sizeof *h);
    h->struct_size = sizeof *h;
    memset(slot, 0, sizeof slot);
    slot[MUON_EVENT_KIND_CONNECTION_REMOTE_OPEN] = &h->on_connection_remote_open;
    slot[MUON_EVENT_KIND_CONNECTION_REMOTE_CLOSE] = &h->on_connection_remote_close;
    slot[MUON_EVENT_KIND_SESSION_REMOTE_OPEN] = &h->on_session_remote_open;
    slot[MUON_EVENT_KIND_SESSION_REMOTE_CLOSE] = &h->on_session_remote_close;
    slot[MUON_EVENT_KIND_LINK_REMOTE_ATTACH] = &h->on_link_remote_attach;
    slot[MUON_EVENT_KIND_LINK_REMOTE_OPEN] = &h->on_link_remote_open;
    slot[MUON_EVENT_KIND_LINK_REMOTE_CLOSE] = &h->on_link_remote_close;
    slot[MUON_EVENT_KIND_LINK_FLOW] = &h->on_link_flow;
    slot[MUON_EVENT_KIND_MESSAGE] = &h->on_message;
    slot[MUON_EVENT_KIND_ACCEPTED] = &h->on_accepted;
    slot[MUON_EVENT_KIND_REJECTED] = &h->on_rejected;
    slot[MUON_EVENT_KIND_RELEASED] = &h->on_released;
    slot[MUON_EVENT_KIND_MODIFIED] = &h->on_modified;
    slot[MUON_EVENT_KIND_SETTLED] = &h->on_settled;
    slot[MUON_EVENT_KIND_DISCONNECTED] = &h->on_disconnected;
    slot[MUON_EVENT_KIND_RECONNECTED] = &h->on_reconnected;
    slot[MUON_EVENT_KIND_TIMER] = &h->on_timer;
    slot[MUON_EVENT_KIND_LISTENER_OPEN] = &h->on_listener_open;
    slot[MUON_EVENT_KIND_CONNECTION_ACCEPTED] = &h->on_connection_accepted;
    slot[MUON_EVENT_KIND_WAKE] = &h->on_wake;
    slot[MUON_EVENT_KIND_LINK_FINAL] = &h->on_link_final;
    slot[MUON_EVENT_KIND_CONNECTION_FINAL] = &h->on_connection_final;
    slot[MUON_EVENT_KIND_LISTENER_FINAL] = &h->on_listener_final;
    slot[MUON_EVENT_KIND_SASL_AUTHENTICATE] = &h->on_sasl_authenticate;
    slot[MUON_EVENT_KIND_MESSAGE_ERROR] = &h->on_message_error;
    for (int k = 1; k < 26; k++)
        if ((mask >> k) & 1u) *slot[k] = muon_py_event;
    if (with_free) h->userdata_free = muon_py_free;
}
"""

ffibuilder = FFI()
ffibuilder.cdef(declarations(HEADER.read_text()) + CDEF_EXTRA)
ffibuilder.set_source(
    "muon._muon",
    SOURCE,
    include_dirs=[str(REPO / "include")],
    extra_objects=[str(library_dir() / "libmuon.a")],
    # Rebuilt whenever the library or the header changes (not only the C source).
    depends=[str(library_dir() / "libmuon.a"), str(HEADER)],
    libraries=["pthread", "dl", "m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
