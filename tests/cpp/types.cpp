/*
 * types.cpp: type fidelity of every AMQP type through the C++ API.
 *
 * The same "types" message as tests/interop/types.c builds (every simple
 * type at its limits, every composite, in the header, both annotation
 * maps, the properties, the application properties and the body), but
 * built here from standard C++ types through muon.hpp's codecs.
 *
 *   types_cpp send URL ADDRESS   sends it once and waits for the accept
 *   types_cpp recv URL ADDRESS   receives one message and checks every
 *                                field: each value read back as the C++ type
 *                                it was made from equals the original, reads
 *                                as muon::amqp_variant of its own type, and
 *                                re-encodes to the bytes received
 *
 * tests/cpp.rs sends with this program to `types recv` (C, whose canonical
 * print must equal tests/interop/types.expected) and with `types send` (C)
 * to this program, through the example broker.
 *
 * Prints "sent" or "ok: N values checked"; on a mismatch, what differs,
 * and exits 1.
 */
#include "muon.hpp"

#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace std::string_literals;

namespace {

int failures = 0;
int checked = 0;

void fail(const std::string &what) {
    std::cout << "error: " << what << std::endl;
    ++failures;
}

template <class T> bool same(const T &a, const T &b) { return a == b; }
bool same(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/* A named value made from a C++ value, and a check that a received value
 * reads back as that C++ type and equals it. */
struct entry {
    std::string name;
    muon::value value;
    std::function<bool(muon::value_view)> check;
};

template <class T> entry make(const std::string &name, T x) {
    return entry{name, muon::value(x), [x](muon::value_view v) {
                     auto back = muon::try_get<T>(v);
                     return back && same(*back, x);
                 }};
}

double double_bits(uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

std::string long_text() {
    std::string s;
    for (int i = 0; i < 300; i++) s += char('0' + i % 10);
    return s;
}
muon::binary long_binary() {
    muon::binary b;
    for (int i = 0; i < 300; i++) b.push_back(uint8_t(i < 256 ? i : i - 256));
    return b;
}

std::vector<entry> scalars() {
    muon::decimal128 d128;
    for (int i = 0; i < 16; i++) d128.bytes[i] = uint8_t(0x30 + i);
    return {
        make("null", nullptr),
        make("bool-true", true),
        make("bool-false", false),
        make("ubyte-0", uint8_t(0)),
        make("ubyte-max", uint8_t(255)),
        make("ushort-0", uint16_t(0)),
        make("ushort-max", uint16_t(65535)),
        make("uint-0", uint32_t(0)),
        make("uint-small", uint32_t(255)),
        make("uint-max", std::numeric_limits<uint32_t>::max()),
        make("ulong-0", uint64_t(0)),
        make("ulong-small", uint64_t(255)),
        make("ulong-max", std::numeric_limits<uint64_t>::max()),
        make("byte-min", int8_t(-128)),
        make("byte-max", int8_t(127)),
        make("short-min", int16_t(-32768)),
        make("short-max", int16_t(32767)),
        make("int-min", std::numeric_limits<int32_t>::min()),
        make("int-small", int32_t(-1)),
        make("int-max", std::numeric_limits<int32_t>::max()),
        make("long-min", std::numeric_limits<int64_t>::min()),
        make("long-small", int64_t(100)),
        make("long-max", std::numeric_limits<int64_t>::max()),
        make("float", 1.5f),
        make("float-neg-zero", -0.0f),
        make("float-inf", std::numeric_limits<float>::infinity()),
        make("double", double_bits(0x400921fb54442d18ull)),
        make("double-subnormal", std::numeric_limits<double>::denorm_min()),
        make("double-neg-inf", -std::numeric_limits<double>::infinity()),
        make("decimal32", muon::decimal32{0x22500001u}),
        make("decimal64", muon::decimal64{0x2238000000000001ull}),
        make("decimal128", d128),
        make("char", U'a'),
        make("char-astral", U'\U0001F600'),
        make("timestamp", muon::timestamp(1700000000125)),
        make("timestamp-negative", muon::timestamp(-1000)),
        make("uuid", muon::uuid::parse("12345678-9abc-def0-1234-56789abcdef0")),
        make("binary-empty", muon::binary()),
        make("binary", muon::binary{0x00, 0x01, 0xfe, 0xff}),
        make("binary-long", long_binary()),
        make("string-empty", ""s),
        make("string", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"s),
        make("string-long", long_text()),
        make("symbol", muon::symbol("sym-bol")),
        make("symbol-long", muon::symbol(long_text())),
    };
}

std::vector<entry> composites() {
    std::vector<int32_t> ints;
    for (int i = 0; i < 100; i++) ints.push_back(i);
    using values = std::vector<muon::value>;
    using entries = std::vector<std::pair<muon::value, muon::value>>;
    return {
        make("list-empty", values{}),
        make("list", values{int32_t(1), values{"inner"s, uint8_t(2)},
                            std::map<std::string, std::string>{{"k", "v"}}, nullptr}),
        make("list-long", ints),
        make("map-empty", std::map<std::string, int32_t>{}),
        make("map", entries{{"a"s, int32_t(1)},
                            {muon::symbol("b"), std::vector<bool>{true, false}},
                            {uint64_t(3), std::map<std::string, int16_t>{{"nested", int16_t(-3)}}},
                            {int32_t(-1), nullptr},
                            {muon::uuid::parse("00000000000000000000000000000001"), muon::binary{0x01}}}),
        make("array-empty", muon::array_of<int32_t>{}),
        make("array-int", muon::array_of<int32_t>{-1, 0, std::numeric_limits<int32_t>::max()}),
        make("array-ulong", muon::array_of<uint64_t>{0, std::numeric_limits<uint64_t>::max()}),
        make("array-double", muon::array_of<double>{double_bits(0x3fe0000000000000ull),
                                                    double_bits(0xc002000000000000ull)}),
        make("array-bool", muon::array_of<bool>{true, false, true}),
        make("array-string", muon::array_of<std::string>{"one", "", "thr\xc3\xa9\xc3\xa9"}),
        make("array-symbol", muon::array_of<muon::symbol>{muon::symbol("x"), muon::symbol(long_text())}),
        make("array-uuid", muon::array_of<muon::uuid>{muon::uuid::parse("00000000000000000000000000000000"),
                                                      muon::uuid::parse("ffffffffffffffffffffffffffffffff")}),
        make("array-binary", muon::array_of<muon::binary>{muon::binary(), muon::binary{0xff}}),
        make("array-timestamp", muon::array_of<muon::timestamp>{muon::timestamp(0), muon::timestamp(1700000000125)}),
        make("array-list", muon::array_of<values>{values{int32_t(1), "x"s}, values{}}),
        make("array-map", muon::array_of<std::map<std::string, int32_t>>{{{"k", 1}}, {}}),
        make("described-symbol", muon::described(muon::symbol("com.example:thing"), "payload"s)),
        make("described-ulong", muon::described(uint64_t(0x0000123400000001ull),
                                                values{int32_t(1), muon::symbol("two")})),
    };
}

std::vector<entry> body_only() {
    return {make("described-nested",
                 muon::described(muon::symbol("outer"),
                                 muon::described(uint64_t(7), std::map<std::string, std::string>{{"in", "ner"}})))};
}

const muon::uuid message_id = muon::uuid::parse("0123456789abcdef0123456789abcdef");
const muon::binary user_id{'m', 'u', 'o', 'n', '-', 'u', 's', 'e', 'r', 0x00, 0xff};

muon::message types_message() {
    muon::message m;
    m.durable(true).priority(7).ttl(std::chrono::milliseconds(3600500)).first_acquirer(true).delivery_count(3);
    std::vector<entry> all = scalars(), more = composites();
    for (auto &e : more) all.push_back(std::move(e));
    for (const auto &e : all) m.delivery_annotation("x-opt-da-" + e.name, e.value);
    for (const auto &e : all) m.annotation("x-opt-ma-" + e.name, e.value);
    m.id(message_id)
        .user_id(user_id)
        .to("types-to")
        .subject("subject \xe2\x9c\x93")
        .reply_to("types-reply-to")
        .correlation_id(std::numeric_limits<uint64_t>::max())
        .content_type("application/x-muon-test")
        .content_encoding("identity")
        .absolute_expiry_time(muon::timestamp(1700000003125))
        .creation_time(muon::timestamp(1700000000250))
        .group_id("group \xe2\x9c\x93")
        .group_sequence(123456789u)
        .reply_to_group_id("reply-group");
    for (const auto &e : scalars()) m.property("p-" + e.name, e.value);
    for (auto &e : body_only()) all.push_back(std::move(e));
    std::vector<muon::value> body;
    for (const auto &e : all) body.push_back(e.value);
    return m.body(body);
}

/* Checks one received value against the entry it should be. */
void check_value(const std::string &where, muon::value_view got, const entry &want) {
    ++checked;
    if (!want.check(got)) fail(where + ": " + got.format() + " does not read back as the C++ value");
    auto var = muon::try_get<muon::amqp_variant>(got);
    if (!var || int(var->index()) != int(got.type()) - 1) {
        fail(where + ": does not read as the muon::amqp_variant of its type");
    } else if (muon::value(*var) != muon::value(got) || muon::value(*var).encode() != got.encode()) {
        fail(where + ": its muon::amqp_variant does not re-encode to the same bytes");
    }
}

void check_map(const std::string &section, const muon::value_map &got, const std::string &prefix,
               const std::vector<entry> &want) {
    if (got.size() != want.size()) {
        fail(section + ": " + std::to_string(got.size()) + " entries, expected " + std::to_string(want.size()));
        return;
    }
    for (std::size_t i = 0; i < want.size(); i++) {
        auto key = muon::try_get<muon::symbol>(got[i].first);
        if (!key || *key != prefix + want[i].name) {
            fail(section + "[" + std::to_string(i) + "]: key " + got[i].first.format());
            continue;
        }
        check_value(section + "[" + *key + "]", got[i].second, want[i]);
    }
}

template <class T> void expect(const std::string &what, const std::optional<T> &got, const T &want) {
    ++checked;
    if (!got || !(*got == want)) fail(what + " differs");
}

void check_message(muon::message_view m) {
    std::vector<entry> all = scalars(), more = composites();
    for (auto &e : more) all.push_back(std::move(e));
    expect("header.durable", std::optional<bool>(m.durable()), true);
    expect("header.priority", std::optional<int>(m.priority()), 7);
    expect("header.ttl", m.ttl(), std::chrono::milliseconds(3600500));
    expect("header.first-acquirer", std::optional<bool>(m.first_acquirer()), true);
    expect("header.delivery-count", std::optional<uint32_t>(m.delivery_count()), 3u);
    check_map("delivery-annotations", m.delivery_annotations(), "x-opt-da-", all);
    check_map("message-annotations", m.annotations(), "x-opt-ma-", all);
    expect("properties.message-id", m.id() ? muon::try_get<muon::uuid>(*m.id()) : std::nullopt, message_id);
    expect("properties.user-id", m.user_id(), user_id);
    expect("properties.to", m.to(), "types-to"s);
    expect("properties.subject", m.subject(), "subject \xe2\x9c\x93"s);
    expect("properties.reply-to", m.reply_to(), "types-reply-to"s);
    expect("properties.correlation-id", m.correlation_id() ? muon::try_get<uint64_t>(*m.correlation_id()) : std::nullopt,
           std::numeric_limits<uint64_t>::max());
    expect("properties.content-type", m.content_type(), "application/x-muon-test"s);
    expect("properties.content-encoding", m.content_encoding(), "identity"s);
    expect("properties.absolute-expiry-time", m.absolute_expiry_time(), muon::timestamp(1700000003125));
    expect("properties.creation-time", m.creation_time(), muon::timestamp(1700000000250));
    expect("properties.group-id", m.group_id(), "group \xe2\x9c\x93"s);
    expect("properties.group-sequence", m.group_sequence(), 123456789u);
    expect("properties.reply-to-group-id", m.reply_to_group_id(), "reply-group"s);
    std::vector<entry> simple = scalars();
    std::map<std::string, muon::value> props = m.properties();
    if (props.size() != simple.size()) fail("application-properties: " + std::to_string(props.size()) + " entries");
    for (const auto &e : simple) {
        auto p = m.property("p-" + e.name);
        if (!p) fail("application-properties[p-" + e.name + "]: missing");
        else check_value("application-properties[p-" + e.name + "]", *p, e);
    }
    for (auto &e : body_only()) all.push_back(std::move(e));
    auto body = muon::try_get<std::vector<muon::value>>(m.body());
    if (m.body_kind() != muon::body_kind::value || !body || body->size() != all.size()) {
        fail("body: not a list of " + std::to_string(all.size()) + " values");
        return;
    }
    for (std::size_t i = 0; i < all.size(); i++) check_value("body[" + std::to_string(i) + "]", (*body)[i], all[i]);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 4 || (std::string(argv[1]) != "send" && std::string(argv[1]) != "recv")) {
        std::cerr << "usage: types_cpp send|recv URL ADDRESS\n";
        return 2;
    }
    bool send = std::string(argv[1]) == "send";
    std::string address = argv[3];
    muon::loop loop;
    muon::handler h;
    muon::connection conn;
    int exit_code = 1;
    h.on_connection_remote_open = [&](muon::event &) {
        if (send) conn.open_sender(address);
        else conn.open_receiver(address);
    };
    h.on_link_flow = [&](muon::event &e) {
        if (e.sender().credit() > 0 && exit_code == 1) {
            e.sender().send(types_message());
            exit_code = 2; // sent, not yet accepted
        }
    };
    h.on_accepted = [&](muon::event &) {
        std::cout << "sent" << std::endl;
        exit_code = 0;
        conn.close();
    };
    h.on_message = [&](muon::event &e) {
        check_message(e.message());
        if (failures == 0) std::cout << "ok: " << checked << " values checked" << std::endl;
        exit_code = failures == 0 ? 0 : 1;
        conn.close();
    };
    auto failed = [&](muon::event &e) {
        auto c = e.condition();
        if (c || exit_code != 0) {
            std::cout << "error: " << (c ? c->str() : "closed") << std::endl;
            exit_code = 1;
            conn.close();
        }
    };
    h.on_link_remote_close = failed;
    h.on_connection_remote_close = failed;
    h.on_disconnected = failed;
    conn = loop.connect(argv[2], h);
    loop.run();
    return exit_code;
}
