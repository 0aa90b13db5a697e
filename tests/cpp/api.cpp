/*
 * api.cpp: the C++ API (include/muon.hpp) checked from C++, over real
 * sockets (the program listens on port 0 and connects to itself).
 *
 *   - errors: muon::error, its category and std::errc equivalents;
 *   - values: every codec there and back, wrong types, NULs, copies;
 *   - messages: every field, copies, encode and decode;
 *   - a listener and a client, with a messaging_handler and a
 *     muon::handler: links, options, termini, deliveries, outcomes;
 *   - exceptions thrown in a handler, a function handler, a timer, a
 *     posted function and the log function: each stops the loop and comes
 *     out of run() as itself, and the loop runs on after;
 *   - handles after their object is gone; shared handlers freed after the
 *     final event; post() from another thread; send() without throwing.
 *
 * Prints "api: ok" and exits 0, or names the first failed check and exits 1.
 */
#include "muon.hpp"

#include <atomic>
#include <csignal>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace std::string_literals;
using namespace std::chrono_literals;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::cout << "api.cpp:" << __LINE__ << ": check failed: " #cond << std::endl;          \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)

/* Runs `f`, which must throw muon::error with code `code`. */
template <class F> void expect_error(muon::errc code, F f, int line) {
    try {
        f();
    } catch (const muon::error &e) {
        if (e.result() == code && e.code() == code) return;
        std::cout << "api.cpp:" << line << ": wrong error: " << e.what() << std::endl;
        std::exit(1);
    }
    std::cout << "api.cpp:" << line << ": no error thrown" << std::endl;
    std::exit(1);
}
#define EXPECT_ERROR(code, expr) expect_error(muon::errc::code, [&] { expr; }, __LINE__)

template <class T> void round_trip(const T &x, muon::type t) {
    muon::value v(x);
    CHECK(v.type() == t);
    CHECK(muon::get<T>(v) == x);
    CHECK(muon::value::decode(v.encode()) == v);
    CHECK(muon::value(muon::get<muon::amqp_variant>(v)) == v);
}

void errors() {
    std::error_code ec = muon::errc::timed_out;
    CHECK(ec == std::errc::timed_out);
    CHECK(ec.category() == muon::category());
    CHECK(std::string(muon::category().name()) == "muon");
    CHECK(ec.message() == muon_result_message(MUON_RESULT_TIMED_OUT));
    CHECK(std::error_code(muon::errc::connection_refused) == std::errc::connection_refused);
    CHECK(std::error_code(muon::errc::address_in_use) == std::errc::address_in_use);
    CHECK(muon::category().message(5000).find("unknown") != std::string::npos);
    CHECK(muon::to_string(muon::errc::queue_full) == "MUON_RESULT_QUEUE_FULL"s);
    muon::error e(muon::errc::stale_handle, "here");
    CHECK(std::string(e.what()).find("here") == 0);
    CHECK(e.result() == muon::errc::stale_handle);
    const std::system_error &base = e;
    CHECK(base.code().value() == MUON_RESULT_STALE_HANDLE);
}

void values() {
    round_trip(true, muon::type::boolean);
    round_trip(uint8_t(200), muon::type::ubyte);
    round_trip(uint16_t(60000), muon::type::ushort);
    round_trip(uint32_t(4000000000u), muon::type::uint);
    round_trip(uint64_t(1) << 63, muon::type::ulong);
    round_trip(int8_t(-100), muon::type::byte);
    round_trip(int16_t(-30000), muon::type::short_);
    round_trip(int32_t(-2000000000), muon::type::int_);
    round_trip(std::numeric_limits<int64_t>::min() / 4, muon::type::long_);
    round_trip(1LL, muon::type::long_); // long long: 8 bytes, signed
    round_trip(2.5f, muon::type::float_);
    round_trip(-0.125, muon::type::double_);
    round_trip(U'\u00e9', muon::type::char_);
    round_trip(muon::decimal32{7}, muon::type::decimal32);
    round_trip(muon::decimal64{9}, muon::type::decimal64);
    round_trip(muon::decimal128{{1, 2, 3}}, muon::type::decimal128);
    round_trip(muon::timestamp(-5), muon::type::timestamp);
    round_trip(muon::uuid::parse("00112233-4455-6677-8899-aabbccddeeff"), muon::type::uuid);
    round_trip(muon::binary{1, 0, 2}, muon::type::binary);
    round_trip(std::vector<uint8_t>{9, 8}, muon::type::binary);
    round_trip("text"s, muon::type::string);
    round_trip(muon::symbol("sym"), muon::type::symbol);
    round_trip(std::vector<int32_t>{1, 2, 3}, muon::type::list);
    round_trip(std::vector<std::string>{"a", "b"}, muon::type::list);
    round_trip(std::map<std::string, double>{{"x", 1.0}, {"y", 2.0}}, muon::type::map);
    round_trip(std::unordered_map<int32_t, bool>{{1, true}}, muon::type::map);
    round_trip(std::vector<std::pair<std::string, int64_t>>{{"z", 1}, {"a", 2}}, muon::type::map);
    round_trip(muon::array_of<int16_t>{1, 2}, muon::type::array);
    round_trip(muon::array_of<uint8_t>{1, 2}, muon::type::array);
    round_trip(muon::described(muon::symbol("d"), 5), muon::type::described);
    round_trip(muon::array(muon::type::string, {"a"s, "b"s}), muon::type::array);
    round_trip(std::optional<int32_t>(4), muon::type::int_);
    round_trip(std::optional<int32_t>(), muon::type::null_);

    // Every way of writing a string is a string; std::string_view and C strings too.
    CHECK(muon::value("c").type() == muon::type::string);
    CHECK(muon::value(std::string_view("v")).type() == muon::type::string);
    CHECK(muon::get<std::string>(muon::value(std::string_view("v"))) == "v");
    // A string read back keeps a NUL the peer sent; one sent may not hold one.
    EXPECT_ERROR(invalid_argument, muon::value("a\0b"s));
    EXPECT_ERROR(invalid_utf8, muon::value("\xff"s));
    EXPECT_ERROR(invalid_argument, muon::value(muon::symbol("caf\xc3\xa9")));
    EXPECT_ERROR(out_of_range, muon::value(char32_t(0xD800)));
    // Strict types: an int is not a long, a list of ints is not a list of strings.
    muon::value i32 = int32_t(5);
    EXPECT_ERROR(wrong_type, muon::get<int64_t>(i32));
    CHECK(!muon::try_get<int64_t>(i32));
    CHECK(*muon::try_get<int32_t>(i32) == 5);
    EXPECT_ERROR(wrong_type, muon::get<std::vector<std::string>>(muon::value(std::vector<int32_t>{1})));
    EXPECT_ERROR(wrong_type, muon::get<int32_t>(muon::value_view()));
    // std::vector<T> reads an array too; array_of<T> only an array.
    CHECK((muon::get<std::vector<int16_t>>(muon::value(muon::array_of<int16_t>{4})) == std::vector<int16_t>{4}));
    CHECK(!muon::try_get<muon::array_of<int32_t>>(muon::value(std::vector<int32_t>{1})));
    // Time points are timestamps, to the millisecond.
    auto now = std::chrono::system_clock::now();
    CHECK(muon::get<muon::timestamp>(muon::value(now)) == muon::timestamp(now));
    // Text forms.
    CHECK(muon::value(std::map<std::string, int64_t>{{"sequence", 1}}).format() == "{'sequence': 1}");
    CHECK(muon::value("Hello World!").format() == "Hello World!");
    std::ostringstream os;
    os << muon::value(std::vector<muon::value>{nullptr, true, muon::symbol("s")});
    CHECK(os.str() == "[None, True, :s]");
    CHECK(muon::uuid::parse("00112233445566778899AABBCCDDEEFF").str() == "00112233-4455-6677-8899-aabbccddeeff");
    EXPECT_ERROR(invalid_argument, muon::uuid::parse("0011"));
    CHECK(muon::to_string(muon::type::ulong) == "ulong"s);
    // Copies are deep; moves leave the source empty.
    muon::value list = muon::value::make_list();
    list.push_back(int32_t(1));
    muon::value copy = list;
    copy.push_back(int32_t(2));
    CHECK(list.size() == 1 && copy.size() == 2);
    muon::value moved = std::move(copy);
    CHECK(!copy && moved.size() == 2); // NOLINT: reading a moved-from value is defined here
    CHECK(moved[1].type() == muon::type::int_ && !moved[2]);
    // Maps: built, looked up by string and symbol keys.
    muon::value map = muon::value::make_map();
    map.put("k"s, int32_t(1)).put(muon::symbol("s"), int32_t(2));
    CHECK(muon::get<int32_t>(map.find("k")) == 1 && muon::get<int32_t>(map.find_symbol("s")) == 2);
    CHECK(!map.find("s") && map.map_key(1).type() == muon::type::symbol);
    // Described values and their descriptors.
    muon::value d = muon::value::make_described(uint64_t(0x70), muon::value(true));
    CHECK(muon::get<uint64_t>(d.descriptor()) == 0x70 && muon::get<bool>(d.described_value()));
    EXPECT_ERROR(wrong_type, muon::value::make_described(int32_t(1), muon::value()));
    // An array refuses an item of another type.
    muon::value arr = muon::value::make_array(muon::type::int_);
    EXPECT_ERROR(wrong_type, arr.push_back(true));
    CHECK(arr.array_type() == muon::type::int_ && arr.size() == 0);
    EXPECT_ERROR(decode_error, muon::value::decode(muon::binary{0xff}));
    // Release and adopt hand a value to C and back.
    muon::value r = int32_t(3);
    muon::value back = muon::value::adopt(r.release());
    CHECK(!r && muon::get<int32_t>(back) == 3);
}

void messages() {
    muon::message m("body"s);
    CHECK(m.body_kind() == muon::body_kind::value && m.body<std::string>() == "body");
    m.durable(true).priority(9).ttl(1500ms).first_acquirer(true).delivery_count(2);
    CHECK(m.durable() && m.priority() == 9 && m.ttl() == 1500ms && m.first_acquirer() && m.delivery_count() == 2);
    m.ttl(std::nullopt);
    CHECK(!m.ttl());
    EXPECT_ERROR(out_of_range, m.ttl(std::chrono::hours(24 * 365)));
    CHECK(!m.id() && !m.to() && !m.group_sequence() && !m.creation_time() && !m.user_id());
    m.id("id-1").correlation_id(uint64_t(7)).user_id(muon::binary{}).to("t").subject("s").reply_to("r");
    m.content_type("text/plain").content_encoding("utf-8").absolute_expiry_time(muon::timestamp(10));
    m.creation_time(muon::timestamp(5)).group_id("g").group_sequence(3u).reply_to_group_id("rg");
    CHECK(muon::get<std::string>(*m.id()) == "id-1" && muon::get<uint64_t>(*m.correlation_id()) == 7);
    CHECK(m.user_id() == muon::binary{} && *m.to() == "t" && *m.subject() == "s" && *m.reply_to() == "r");
    CHECK(*m.content_type() == "text/plain" && *m.content_encoding() == "utf-8");
    CHECK(*m.absolute_expiry_time() == muon::timestamp(10) && *m.creation_time() == muon::timestamp(5));
    CHECK(*m.group_id() == "g" && *m.group_sequence() == 3 && *m.reply_to_group_id() == "rg");
    EXPECT_ERROR(wrong_type, m.id(1.5));
    m.id(std::nullopt).user_id(std::nullopt).to(std::nullopt).group_sequence(std::nullopt);
    m.creation_time(std::nullopt).absolute_expiry_time(std::nullopt).correlation_id(std::optional<muon::value>());
    CHECK(!m.id() && !m.user_id() && !m.to() && !m.group_sequence() && !m.creation_time() && !m.correlation_id());
    m.property("n", int64_t(4)).property("s", "x").annotation("x-opt-a", std::vector<int32_t>{1});
    m.delivery_annotation("x-opt-d", true).footer("f", muon::symbol("y"));
    EXPECT_ERROR(wrong_type, m.property("list", std::vector<int32_t>{1}));
    CHECK(m.property<int64_t>("n") == 4 && !m.property("none") && !m.property<int64_t>("none"));
    EXPECT_ERROR(wrong_type, m.property<int32_t>("n"));
    CHECK(m.properties().size() == 2 && muon::get<std::string>(m.properties().at("s")) == "x");
    CHECK(m.annotations().size() == 1 && muon::get<muon::symbol>(m.annotations()[0].first) == "x-opt-a");
    CHECK(m.annotation<std::vector<int32_t>>("x-opt-a") == std::vector<int32_t>{1});
    CHECK(*m.delivery_annotation<bool>("x-opt-d") && m.delivery_annotations().size() == 1);
    CHECK(m.footer<muon::symbol>("f") == muon::symbol("y") && m.footers().size() == 1);
    // Copies are deep; a view sees the message it views.
    muon::message c = m;
    c.subject("other");
    CHECK(*m.subject() == "s" && *c.subject() == "other");
    muon::message_view v = c;
    CHECK(*v.subject() == "other");
    muon::message kept(v);
    CHECK(kept.encode() == c.encode());
    CHECK(muon::message::decode(m.encode()).encode() == m.encode());
    EXPECT_ERROR(decode_error, muon::message::decode(muon::binary{1, 2, 3}));
    // Other body forms.
    muon::message data;
    data.body_binary(muon::binary{1, 2}).add_body_data(muon::binary{3});
    CHECK(data.body_kind() == muon::body_kind::data && data.body_data_count() == 2);
    CHECK(data.body_data(1) == muon::binary{3} && !data.body());
    EXPECT_ERROR(out_of_range, data.body_data(2));
    muon::message seq;
    seq.add_body_sequence(std::vector<int32_t>{1, 2}).add_body_sequence(std::vector<muon::value>{"x"s});
    CHECK(seq.body_kind() == muon::body_kind::sequence && seq.body_sequence_count() == 2);
    CHECK(seq.body_sequence(0).size() == 2 && muon::get<std::string>(seq.body_sequence(1)[0]) == "x");
    EXPECT_ERROR(wrong_type, seq.add_body_sequence(int32_t(1)));
    muon::message text;
    text.body_string("plain");
    CHECK(text.body<std::string>() == "plain" && text.body().format() == "plain");
    EXPECT_ERROR(wrong_type, text.body<int32_t>());
    muon::message moved = std::move(text);
    CHECK(!text && moved); // NOLINT: a moved-from message is empty
}

/* The listening side: a messaging_handler as the loop's default handler. */
struct server_side : muon::messaging_handler {
    std::vector<std::string> bodies;
    std::vector<std::string> events;
    muon::listener listener;
    std::string throw_on; // a body that makes on_message throw
    void on_listener_open(muon::event &e) override {
        events.push_back("listener_open");
        CHECK(e.listener() == listener && e.kind() == muon::event_kind::listener_open);
    }
    void on_connection_accepted(muon::event &e) override {
        events.push_back("accepted");
        CHECK(e.connection() && !e.sender() && !e.receiver());
    }
    void on_link_remote_attach(muon::event &e) override {
        if (!e.is_receiver()) return;
        events.push_back("attach");
        auto t = e.receiver().remote_target();
        CHECK(t && t->address == "queue-a");
        CHECK(e.receiver().remote_source() && e.receiver().remote_source()->has_capability("cap") == false);
        CHECK(e.receiver().name() == "link-a");
        CHECK(e.receiver().remote_offers_capability("offered") && !e.receiver().remote_desires_capability("x"));
        auto props = e.receiver().remote_properties();
        CHECK(props && muon::get<std::string>(props->find_symbol("p")) == "v");
        e.receiver().set_credit_window(5);
    }
    void on_message(muon::event &e) override {
        auto body = e.message().body<std::string>();
        bodies.push_back(body);
        CHECK(e.delivery() && e.receiver() && !e.sender() && e.is_receiver());
        CHECK(e.receiver().connection() == e.connection());
        CHECK(e.connection().remote_container_id() == "api-client");
        CHECK(muon::get<std::string>(e.connection().remote_properties()->find_symbol("who")) == "client");
        CHECK(e.connection().remote_offers_capability("conn-cap"));
        if (body == "reject") e.delivery().reject("amqp:not-allowed", "no");
        if (body == "release") e.delivery().release();
        if (body == throw_on) throw std::runtime_error("from on_message: " + body);
    }
};

/* An exception type of its own, to check that run() rethrows the very exception. */
struct custom_error {
    int code;
};

void loop_and_links() {
    muon::loop loop;
    std::vector<std::string> log_lines;
    loop.set_log([&](std::string_view line) { log_lines.emplace_back(line); });
    loop.set_trace(true);
    auto srv = std::make_shared<server_side>();
    srv->throw_on = "boom";
    loop.set_handler(*srv);
    srv->listener = loop.listen("127.0.0.1:0");
    std::string url = "127.0.0.1:" + std::to_string(srv->listener.port());
    CHECK(srv->listener.port() != 0);

    // The client: a muon::handler of functions on the connection, a
    // messaging_handler shared with the loop on the sender.
    std::vector<muon::delivery_state> outcomes;
    std::vector<std::string> to_send{"one", "reject", "release", "boom", "two"};
    struct sending : muon::messaging_handler {
        std::vector<std::string> *to_send;
        std::vector<muon::delivery_state> *outcomes;
        std::size_t next = 0;
        void on_link_flow(muon::event &e) override {
            while (e.sender().credit() > 0 && next < to_send->size()) {
                muon::delivery d = e.sender().send(muon::message((*to_send)[next++]));
                CHECK(d && d.tag().size() > 0 && d.remote_state() == muon::delivery_state::none);
            }
        }
        void on_accepted(muon::event &e) override { outcomes->push_back(e.delivery().remote_state()); }
        void on_rejected(muon::event &e) override {
            outcomes->push_back(e.delivery().remote_state());
            CHECK(e.condition() && e.condition()->name == "amqp:not-allowed" && e.condition()->str() == "amqp:not-allowed: no");
        }
        void on_released(muon::event &e) override { outcomes->push_back(e.delivery().remote_state()); }
    };
    auto snd = std::make_shared<sending>();
    snd->to_send = &to_send;
    snd->outcomes = &outcomes;
    std::weak_ptr<sending> snd_alive = snd;
    muon::handler client;
    muon::connection conn;
    muon::sender sender;
    bool remote_open = false;
    client.on_connection_remote_open = [&](muon::event &e) {
        remote_open = true;
        CHECK(e.connection() == conn && conn.is_open() && conn.is_connected());
        CHECK(conn.remote_container_id().has_value() && conn.user() == std::nullopt);
    };
    muon::connection_options co;
    co.container_id("api-client")
        .properties(std::map<muon::symbol, std::string>{{muon::symbol("who"), "client"}})
        .add_offered_capability("conn-cap")
        .max_frame_size(4096)
        .idle_timeout(10s);
    conn = loop.connect(url, co, client);
    muon::link_options lo;
    lo.name("link-a")
        .add_offered_capability("offered")
        .properties(std::map<muon::symbol, std::string>{{muon::symbol("p"), "v"}});
    sender = conn.open_sender("queue-a"s, lo, std::shared_ptr<muon::messaging_handler>(snd));
    snd.reset();
    CHECK(sender.name() == "link-a" && sender.connection() == conn);

    // The handler throws on "boom": run() rethrows that exception, with the
    // outcomes before it reported; the loop then runs on.
    try {
        loop.run();
        CHECK(!"run() did not rethrow");
    } catch (const std::runtime_error &e) {
        CHECK(std::string(e.what()) == "from on_message: boom");
    }
    CHECK(remote_open);
    CHECK((srv->events == std::vector<std::string>{"listener_open", "accepted", "attach"}));
    CHECK((srv->bodies == std::vector<std::string>{"one", "reject", "release", "boom"}));
    // A timer that throws an exception of its own type.
    loop.schedule(1ms, [] { throw custom_error{42}; });
    try {
        loop.run();
        CHECK(!"run() did not rethrow the timer's exception");
    } catch (const custom_error &e) {
        CHECK(e.code == 42);
    }
    // The last message and outcomes may still be on their way: run on until they are in.
    for (int i = 0; i < 400 && (outcomes.size() < 5 || srv->bodies.size() < 5); i++) loop.run_once(50ms);
    CHECK((srv->bodies == std::vector<std::string>{"one", "reject", "release", "boom", "two"}));
    CHECK((outcomes == std::vector<muon::delivery_state>{muon::delivery_state::accepted, muon::delivery_state::rejected,
                                                         muon::delivery_state::released, muon::delivery_state::accepted,
                                                         muon::delivery_state::accepted}));
    // Statistics: the five messages and their outcomes, as the client saw them.
    muon_connection_stats cs = conn.stats();
    CHECK(cs.messages_sent == 5 && cs.accepted == 3 && cs.rejected == 1 && cs.released == 1);
    CHECK(cs.bytes_out > 0 && cs.frames_in > 0 && cs.connected);
    muon_link_stats ls = sender.stats();
    CHECK(ls.messages == 5 && ls.accepted == 3 && ls.rejected == 1 && ls.released == 1);
    // A posted function, from another thread, that throws.
    std::thread t([&] { loop.post([] { throw std::logic_error("posted"); }); });
    t.join();
    try {
        loop.run();
        CHECK(!"run() did not rethrow the posted function's exception");
    } catch (const std::logic_error &e) {
        CHECK(std::string(e.what()) == "posted");
    }
    // A function handler that throws, from run_once.
    muon::handler thrower;
    thrower.on_timer = [](muon::event &e) {
        CHECK(e.kind() == muon::event_kind::timer && e.timer());
        throw std::out_of_range("function handler");
    };
    loop.schedule(0ms, thrower);
    bool thrown = false;
    for (int i = 0; i < 100 && !thrown; i++) {
        try {
            loop.run_once(100ms);
        } catch (const std::out_of_range &e) {
            thrown = std::string(e.what()) == "function handler";
        }
    }
    CHECK(thrown);
    // A cancelled timer never fires; cancelling twice says so.
    muon::timer never = loop.schedule(1h, [] { CHECK(!"the cancelled timer fired"); });
    CHECK(never.cancel() && !never.cancel());
    // The log function saw the frames, and may throw too.
    bool opened_frame = false;
    for (const auto &l : log_lines) opened_frame = opened_frame || l.find("@open") != std::string::npos;
    CHECK(opened_frame);
    loop.set_log([](std::string_view) { throw std::runtime_error("log"); });
    conn.close();
    try {
        loop.run();
        CHECK(!"run() did not rethrow the log function's exception");
    } catch (const std::runtime_error &e) {
        CHECK(std::string(e.what()) == "log");
    }
    loop.set_log(nullptr);
    srv->listener.close();
    loop.run();
    // Everything ended: handles are stale, closing again does nothing,
    // other calls say so; the shared sender handler was freed.
    CHECK(snd_alive.expired());
    CHECK(!conn.is_open() && !conn.remote_container_id() && sender.credit() == 0);
    conn.close();
    sender.close();
    srv->listener.close();
    EXPECT_ERROR(stale_handle, conn.open_sender("x"s));
    EXPECT_ERROR(stale_handle, conn.stats());
    EXPECT_ERROR(stale_handle, sender.stats());
    EXPECT_ERROR(stale_handle, sender.send(muon::message("late")));
    std::error_code ec;
    CHECK(!sender.send(muon::message("late"), ec) && ec == muon::errc::stale_handle);
    EXPECT_ERROR(reentrant, ([&] {
        muon::loop inner;
        bool done = false;
        inner.schedule(0ms, [&] {
            done = true;
            inner.run();
        });
        inner.run();
        CHECK(done);
    }()));
}

/* A sender without a queue: send() without credit fails, without throwing in the error_code form. */
void send_without_queue() {
    muon::loop loop;
    muon::listener l = loop.listen("127.0.0.1:0");
    muon::connection c = loop.connect("127.0.0.1:" + std::to_string(l.port()));
    muon::sender s = c.open_sender("q"s, muon::link_options().max_queued(0));
    std::error_code ec;
    muon::delivery d = s.send(muon::message("x"), ec);
    CHECK(!d && (ec == muon::errc::wrong_state || ec == muon::errc::no_credit));
    CHECK(ec == std::errc::operation_not_permitted || ec == std::errc::resource_unavailable_try_again);
    muon::sender queued = c.open_sender("q2"s);
    queued.send(muon::message("waits"));
    CHECK(queued.queued() == 1 && queued.credit() == 0);
    int wakes = 0;
    muon::handler h;
    h.on_wake = [&](muon::event &) {
        ++wakes;
        c.close();
        l.close();
    };
    loop.set_handler(h);
    std::atomic<bool> woken{false};
    std::thread t([&] {
        loop.wake();
        woken = true;
    });
    t.join();
    loop.run();
    CHECK(woken && wakes >= 1);
}


/* The later additions: URLs, typed properties, more options, request/response helpers, detach. */
void additions() {
    muon::url u("amqps://me:secret@example.org:1234/a%20b");
    CHECK(u.scheme() == "amqps" && u.user() == "me" && u.password() == "secret" && u.host() == "example.org");
    CHECK(u.port() == 1234 && u.address() == "a b" && u.origin() == "amqps://example.org:1234");
    muon::url plain("localhost");
    CHECK(plain.scheme() == "amqp" && plain.port() == 5672 && !plain.user() && plain.address().empty());
    CHECK(!muon::last_error());
    EXPECT_ERROR(invalid_argument, muon::url("localhost:abc/q"));
    CHECK(muon::last_error() && muon::last_error()->find("\"abc\" is not a number") != std::string::npos);

    muon::message m;
    m.string_property("s", "text").long_property("n", -5).bool_property("b", true);
    CHECK(m.string_property("s") == "text" && m.long_property("n") == -5 && m.bool_property("b") == true);
    CHECK(!m.string_property("missing") && !m.long_property("missing") && !m.bool_property("missing"));

    muon::selector sel("n < 0 AND s LIKE 't%' AND b");
    CHECK(sel.matches(m) && sel.text() == "n < 0 AND s LIKE 't%' AND b" && sel.filter());
    CHECK(!muon::selector("n > 0").matches(m));
    EXPECT_ERROR(invalid_argument, muon::selector("n == 1"));
    CHECK(muon::last_error() && muon::last_error()->find("column 4") != std::string::npos);
    auto again = muon::selector::from_filter(sel.filter());
    CHECK(again && again->matches(m) && again->text() == sel.text());
    CHECK(!muon::selector::from_filter(muon::value_view()));
    EXPECT_ERROR(wrong_type, m.long_property("s"));
    CHECK(muon::message_view(m).string_property("s") == "text");

    muon::connection_options co;
    co.max_links_per_session(8).max_unsettled_per_link(64).max_incomplete_bytes(1 << 20).max_decode_depth(16);
    muon::link_options lo;
    lo.expiry_policy(muon::expiry_policy::never).timeout(2500ms).selector("color = 'red'").rcv_settle_second(false);
    lo.max_message_size(1 << 20).filter(muon::value(std::map<muon::symbol, muon::value>{}));

    // A server that answers with send_reply; a client that sends with send_with
    // and receives the reply at a fixed address.
    muon::loop loop;
    muon::handler srv, cli;
    std::vector<uint32_t> formats;
    std::optional<std::string> reply_body, reply_to;
    std::optional<muon::value> correlation;
    bool no_reply_to = false, detached = false, remote_closed = true;
    muon::connection client;
    srv.on_message = [&](muon::event &e) {
        formats.push_back(e.delivery().message_format());
        muon::message reply("re: " + e.message().body<std::string>());
        try {
            e.connection().send_reply(e.message(), reply);
            CHECK(reply.to() == "replies" && e.connection().sender_to("replies") == e.connection().sender_to("replies"));
        } catch (const muon::error &err) {
            no_reply_to = err.result() == muon::errc::not_found;
            e.delivery().reject();
        }
    };
    srv.on_link_remote_close = [&](muon::event &e) {
        if (!e.is_receiver() && e.sender().name() == "detach-me") { // the client's receiver
            detached = true;
            remote_closed = e.sender().remote_closed();
        }
    };
    muon::listener listener = loop.listen("127.0.0.1:0", srv);
    cli.on_message = [&](muon::event &e) {
        reply_body = e.message().body<std::string>();
        reply_to = e.message().to();
        correlation = e.message().correlation_id();
    };
    cli.on_link_flow = [&](muon::event &e) {
        if (e.is_receiver() || e.sender().name() != "requests" || e.sender().queued() > 0) return;
        muon::message no_reply("nobody");
        e.sender().send_with(no_reply, muon::binary{1, 2, 3}, 0);
        muon::message request("hi");
        request.id("req-1").reply_to("replies");
        muon::delivery d = e.sender().send_with(request, muon::binary(12, 7), 0);
        CHECK(d.tag() == muon::binary(12, 7) && d.message_format() == 0);
        CHECK(e.sender().remote_max_message_size() == 0 || e.sender().remote_max_message_size() > 100);
    };
    client = loop.connect("127.0.0.1:" + std::to_string(listener.port()), cli);
    client.open_receiver("replies"s);
    client.open_sender("requests"s, muon::link_options().name("requests"));
    muon::receiver detach_me = client.open_receiver("elsewhere"s, muon::link_options().name("detach-me"));
    for (int i = 0; i < 400 && (!reply_body || !no_reply_to); i++) loop.run_once(50ms);
    detach_me.detach();
    for (int i = 0; i < 400 && !detached; i++) loop.run_once(50ms);
    CHECK(no_reply_to && reply_body == "re: hi" && reply_to == "replies");
    CHECK(correlation && muon::get<std::string>(*correlation) == "req-1");
    CHECK((formats == std::vector<uint32_t>{0, 0}));
    CHECK(detached && !remote_closed);
    client.close();
    listener.close();
    loop.run();
}

/* The process-wide log: levels, a callback that sees a failed connect, reset. */
void process_log() {
    EXPECT_ERROR(invalid_argument, muon::set_log_level("nonsense"));
    muon::set_log_level("connection:error");
    std::vector<std::string> lines;
    muon::set_log_callback([&](muon_log_level level, muon_log_category category, std::string_view m) {
        CHECK(level == MUON_LOG_LEVEL_ERROR && category == MUON_LOG_CATEGORY_CONNECTION);
        lines.emplace_back(m);
    });
    {
        muon::loop loop;
        muon::listener l = loop.listen("127.0.0.1:0");
        std::string url = "127.0.0.1:" + std::to_string(l.port());
        l.close();
        loop.run(); // the port is free again: nothing listens there
        muon::handler h;
        loop.connect(url, muon::connection_options(), h);
        loop.run();
    }
    CHECK(!lines.empty() && lines[0].find("disconnected: ") != std::string::npos);
    muon::set_log_callback(nullptr);
    muon::set_log_level("off");
    CHECK(muon::signal_count(SIGUSR1) == 0);
    muon::receiver none;
    EXPECT_ERROR(null_argument, none.stats());
}

int main() {
    process_log();
    errors();
    values();
    messages();
    loop_and_links();
    send_without_queue();
    additions();
    std::cout << "api: ok" << std::endl;
    return 0;
}
