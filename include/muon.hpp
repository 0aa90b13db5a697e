/**
 * @file muon.hpp
 * @brief muon: AMQP 1.0 messaging, the C++ API (C++17, header-only).
 *
 * A thin C++ layer over the C API of muon.h: every call goes to a muon_*
 * function; nothing here reimplements the library. Include it and link
 * libmuon as for C (`c++ -std=c++17 app.cpp $(pkg-config --cflags --libs
 * muon)`).
 *
 * **Ownership.** `muon::loop`, `muon::message`, `muon::value`,
 * `muon::connection_options` and `muon::link_options` own what they wrap and
 * free it in their destructors (RAII). A loop and the two options types are
 * move-only; messages and values are copyable, and a copy is a deep copy
 * (`muon_message_clone`, `muon_value_clone`), as copying a `std::string` is.
 * `muon::message_view` and `muon::value_view` borrow: they are valid as long
 * as what they view (a message handed to `on_message` is valid until the
 * callback returns; copy it into a `muon::message` to keep it).
 * `muon::connection`, `muon::sender`, `muon::receiver`, `muon::delivery`,
 * `muon::listener` and `muon::timer` are small handle values owned by the
 * loop, as in C: copy them freely; once their object is gone (after its
 * final event) calls on them report `muon::errc::stale_handle` instead of
 * crashing.
 *
 * **Handlers.** Events arrive as calls of virtual functions named as the C
 * callback table's members (`on_connection_remote_open`, `on_link_flow`,
 * `on_message`, ...), each taking a `muon::event&`. Two forms:
 * - derive from `muon::messaging_handler` and override what you need. A
 *   messaging_handler receives *every* event of the object it is registered
 *   on (the ones you do not override do nothing), and of that object's
 *   children that have no handler of their own (a connection's handler gets
 *   its links' events). It is borrowed: keep it alive until the object's
 *   final event, or pass a `std::shared_ptr` to share ownership with the
 *   loop;
 * - fill a `muon::handler` with functions (`h.on_message = [&](muon::event&
 *   e) { ... };`): it is copied, and it receives only the events it has a
 *   function for; the others go on to the next handler, as with C tables
 *   (the link's, then its connection's, then the loop's default).
 *
 * **Errors.** A call that fails throws `muon::error`, a `std::system_error`
 * whose `code()` is in `muon::category()` (its value is the C
 * `muon_result`, also as `muon::errc`; `muon::errc::timed_out` and the
 * like compare equal to their `std::errc` counterparts). Exceptions were
 * chosen over returning `std::error_code` because almost every failure of
 * this API is a programming error (a stale handle, a bad argument, a wrong
 * thread) that no caller wants to test after every call, and because a
 * handler's failure must reach `run()`, which exceptions do by themselves;
 * the one failure that is part of normal flow, a sender's full queue, also
 * has a non-throwing `muon::sender::send(msg, std::error_code&)`, as the
 * standard library does for `std::filesystem`. A peer's error is not an
 * exception: it is an event with a `muon::condition`. Getters that cannot
 * fail return a default (0, false, `std::nullopt`) for a stale handle, as
 * the C functions do.
 *
 * **Exceptions from handlers never unwind through the C library.** Each
 * callback runs inside a `try`: an exception escaping a handler (or a
 * posted function, a timer function, the log function) is caught there, the
 * loop is stopped (`muon_loop_stop`), and `muon::loop::run()` (or
 * `run_once()`) rethrows that first exception once the C library has
 * returned. The loop stays usable.
 *
 * **Threads.** As in C: a loop and everything made through it belong to
 * the thread that made the loop; only `muon::loop_ref::wake()` and
 * `muon::loop_ref::post()` may be called from other threads.
 *
 * **Types.** AMQP values map to standard C++ types (see `muon::codec`):
 * null `std::nullptr_t`, boolean `bool`, ubyte ... ulong `uint8_t` ...
 * `uint64_t`, byte ... long `int8_t` ... `int64_t`, float `float`, double
 * `double`, char `char32_t`, string `std::string`, binary `muon::binary`
 * (also `std::vector<uint8_t>`), symbol `muon::symbol`, timestamp
 * `muon::timestamp` (also `std::chrono::system_clock::time_point`), uuid
 * `muon::uuid`, decimal32/64/128 `muon::decimal32` ..., list
 * `std::vector<T>`, map `std::map<K, V>` (or, keeping the wire order,
 * `std::vector<std::pair<K, V>>`), array `muon::array_of<T>` (or
 * `muon::array`), described `muon::described`; any of them
 * `muon::amqp_variant`; absent or null `std::optional<T>`. A string passed to
 * muon cannot hold a NUL character (`muon::errc::invalid_argument`).
 */

#ifndef MUON_HPP
#define MUON_HPP

#include "muon.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

/** The C++ API of muon. */
namespace muon {

// ---------------------------------------------------------------- errors

/**
 * The error codes of muon: the nonzero values of the C `muon_result`, with
 * the same numbers. Used through `std::error_code` (`muon::category()`).
 */
enum class errc : int {
    null_argument = MUON_RESULT_NULL_ARGUMENT,               ///< A required pointer was NULL.
    invalid_argument = MUON_RESULT_INVALID_ARGUMENT,         ///< An argument is not accepted.
    invalid_utf8 = MUON_RESULT_INVALID_UTF8,                 ///< A string is not valid UTF-8.
    buffer_too_small = MUON_RESULT_BUFFER_TOO_SMALL,         ///< A buffer is too small.
    wrong_type = MUON_RESULT_WRONG_TYPE,                     ///< A value is of another type.
    out_of_range = MUON_RESULT_OUT_OF_RANGE,                 ///< An index or number is out of range.
    wrong_state = MUON_RESULT_WRONG_STATE,                   ///< The object's state forbids the call.
    reentrant = MUON_RESULT_REENTRANT,                       ///< Not allowed from a callback.
    closed = MUON_RESULT_CLOSED,                             ///< The object is closed.
    stale_handle = MUON_RESULT_STALE_HANDLE,                 ///< The object no longer exists.
    wrong_thread = MUON_RESULT_WRONG_THREAD,                 ///< Called from another thread.
    no_credit = MUON_RESULT_NO_CREDIT,                       ///< No credit, and no queue.
    queue_full = MUON_RESULT_QUEUE_FULL,                     ///< The sender's queue is full.
    io_error = MUON_RESULT_IO_ERROR,                         ///< An operating-system I/O error.
    connection_refused = MUON_RESULT_CONNECTION_REFUSED,     ///< The peer refused the connection.
    timed_out = MUON_RESULT_TIMED_OUT,                       ///< The operation timed out.
    address_in_use = MUON_RESULT_ADDRESS_IN_USE,             ///< The address is in use.
    resolve_failed = MUON_RESULT_RESOLVE_FAILED,             ///< The host name did not resolve.
    decode_error = MUON_RESULT_DECODE_ERROR,                 ///< Bytes that do not decode.
    protocol_error = MUON_RESULT_PROTOCOL_ERROR,             ///< The peer broke the protocol.
    authentication_failed = MUON_RESULT_AUTHENTICATION_FAILED, ///< SASL authentication failed.
    remote_closed = MUON_RESULT_REMOTE_CLOSED,               ///< The peer closed it.
    not_found = MUON_RESULT_NOT_FOUND,                       ///< What was asked for is not there.
    panic = MUON_RESULT_PANIC,                               ///< A bug caught at the API boundary.
};

/// @cond MUON_INTERNAL
namespace detail {
class category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "muon"; }
    std::string message(int code) const override {
        // muon_result_message takes any number; a value outside the enum's
        // range is not formed in C++, so those are named here.
        if (code < 0 || code > 1023) return "unknown muon error " + std::to_string(code);
        return muon_result_message(static_cast<muon_result>(code));
    }
    std::error_condition default_error_condition(int code) const noexcept override {
        switch (code) {
        case MUON_RESULT_NULL_ARGUMENT:
        case MUON_RESULT_INVALID_ARGUMENT:
        case MUON_RESULT_INVALID_UTF8:
        case MUON_RESULT_WRONG_TYPE:
            return std::errc::invalid_argument;
        case MUON_RESULT_BUFFER_TOO_SMALL: return std::errc::no_buffer_space;
        case MUON_RESULT_OUT_OF_RANGE: return std::errc::result_out_of_range;
        case MUON_RESULT_WRONG_STATE:
        case MUON_RESULT_REENTRANT:
        case MUON_RESULT_WRONG_THREAD:
            return std::errc::operation_not_permitted;
        case MUON_RESULT_CLOSED: return std::errc::not_connected;
        case MUON_RESULT_NO_CREDIT:
        case MUON_RESULT_QUEUE_FULL:
            return std::errc::resource_unavailable_try_again;
        case MUON_RESULT_IO_ERROR: return std::errc::io_error;
        case MUON_RESULT_CONNECTION_REFUSED: return std::errc::connection_refused;
        case MUON_RESULT_TIMED_OUT: return std::errc::timed_out;
        case MUON_RESULT_ADDRESS_IN_USE: return std::errc::address_in_use;
        case MUON_RESULT_RESOLVE_FAILED: return std::errc::host_unreachable;
        case MUON_RESULT_DECODE_ERROR:
        case MUON_RESULT_PROTOCOL_ERROR:
            return std::errc::protocol_error;
        case MUON_RESULT_AUTHENTICATION_FAILED: return std::errc::permission_denied;
        case MUON_RESULT_REMOTE_CLOSED: return std::errc::connection_reset;
        default: return std::error_condition(code, *this);
        }
    }
};
} // namespace detail
/// @endcond

/**
 * The error category of muon's codes: `name()` is "muon", `message()` is
 * the C `muon_result_message`, and codes that have a portable meaning
 * (timed_out, connection_refused, address_in_use, io_error, ...) compare
 * equal to the matching `std::errc`.
 */
inline const std::error_category &category() noexcept {
    static const detail::category_impl instance;
    return instance;
}

/** The code's name as muon.h spells it, e.g. "MUON_RESULT_QUEUE_FULL" (`muon_result_name`). */
inline const char *to_string(errc e) noexcept {
    int code = static_cast<int>(e);
    if (code < 0 || code > 1023) return "MUON_RESULT_UNKNOWN";
    return muon_result_name(static_cast<muon_result>(code));
}

/** Makes a `std::error_code` of muon's category (found by ADL). */
inline std::error_code make_error_code(errc e) noexcept {
    return std::error_code(static_cast<int>(e), category());
}

/**
 * What every failing call of this API throws: a `std::system_error` with a
 * code of `muon::category()`. `what()` names the call, then says why.
 */
class error : public std::system_error {
public:
    /** An error with code `code`; `what` names what failed. */
    error(errc code, const std::string &what) : std::system_error(make_error_code(code), what) {}
    /** The code as a `muon::errc`. */
    errc result() const noexcept { return static_cast<errc>(code().value()); }
};

} // namespace muon

/// @cond MUON_INTERNAL
// muon::errc converts to std::error_code (`ec == muon::errc::closed`).
namespace std {
template <> struct is_error_code_enum<muon::errc> : true_type {};
} // namespace std
/// @endcond

namespace muon {

/// @cond MUON_INTERNAL
namespace detail {
/** Throws `muon::error` unless `rc` is MUON_RESULT_OK. */
inline void check(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), what);
}
/** A string for the C API: NUL-terminated, with no NUL inside. */
inline const char *c_str(const std::string &s, const char *what) {
    if (s.find('\0') != std::string::npos) {
        throw error(errc::invalid_argument, std::string(what) + ": a string holds a NUL character");
    }
    return s.c_str();
}
inline std::optional<std::string> opt_string(const char *s) {
    if (s == nullptr) return std::nullopt;
    return std::string(s);
}
/** Throws unless `rc` is OK or says the object is gone (closing twice is not an error). */
inline void check_closing(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_STALE_HANDLE) check(rc, what);
}
template <class H> bool same_handle(const H &a, const H &b) noexcept {
    return a.owner == b.owner && a.index == b.index && a.generation == b.generation;
}
} // namespace detail
/// @endcond

// ---------------------------------------------------------------- enums

/** The AMQP type of a value (`muon_type`). */
enum class type : int {
    none = MUON_TYPE_NONE,             ///< Not a type: no value at all.
    null_ = MUON_TYPE_NULL,            ///< null
    boolean = MUON_TYPE_BOOL,          ///< boolean: bool
    ubyte = MUON_TYPE_UBYTE,           ///< ubyte: uint8_t
    ushort = MUON_TYPE_USHORT,         ///< ushort: uint16_t
    uint = MUON_TYPE_UINT,             ///< uint: uint32_t
    ulong = MUON_TYPE_ULONG,           ///< ulong: uint64_t
    byte = MUON_TYPE_BYTE,             ///< byte: int8_t
    short_ = MUON_TYPE_SHORT,          ///< short: int16_t
    int_ = MUON_TYPE_INT,              ///< int: int32_t
    long_ = MUON_TYPE_LONG,            ///< long: int64_t
    float_ = MUON_TYPE_FLOAT,          ///< float: float
    double_ = MUON_TYPE_DOUBLE,        ///< double: double
    decimal32 = MUON_TYPE_DECIMAL32,   ///< decimal32: muon::decimal32
    decimal64 = MUON_TYPE_DECIMAL64,   ///< decimal64: muon::decimal64
    decimal128 = MUON_TYPE_DECIMAL128, ///< decimal128: muon::decimal128
    char_ = MUON_TYPE_CHAR,            ///< char: char32_t
    timestamp = MUON_TYPE_TIMESTAMP,   ///< timestamp: muon::timestamp
    uuid = MUON_TYPE_UUID,             ///< uuid: muon::uuid
    binary = MUON_TYPE_BINARY,         ///< binary: muon::binary
    string = MUON_TYPE_STRING,         ///< string: std::string
    symbol = MUON_TYPE_SYMBOL,         ///< symbol: muon::symbol
    list = MUON_TYPE_LIST,             ///< list: std::vector<T>
    map = MUON_TYPE_MAP,               ///< map: std::map<K, V>
    array = MUON_TYPE_ARRAY,           ///< array: muon::array_of<T>, muon::array
    described = MUON_TYPE_DESCRIBED,   ///< described: muon::described
};

/** The AMQP name of a type ("ubyte", "string", ...; "none" for type::none). */
inline const char *to_string(type t) noexcept {
    static const char *const names[] = {
        "none",      "null",      "boolean",    "ubyte", "ushort",    "uint",   "ulong",
        "byte",      "short",     "int",        "long",  "float",     "double", "decimal32",
        "decimal64", "decimal128", "char",      "timestamp", "uuid",  "binary", "string",
        "symbol",    "list",      "map",        "array", "described"};
    auto i = static_cast<int>(t);
    return i >= 0 && i <= MUON_TYPE_DESCRIBED ? names[i] : "unknown";
}

/** What an event is (`muon_event_kind`): the name of the callback called. */
enum class event_kind : int {
    none = MUON_EVENT_KIND_NONE,                                   ///< Not an event.
    connection_remote_open = MUON_EVENT_KIND_CONNECTION_REMOTE_OPEN, ///< on_connection_remote_open
    connection_remote_close = MUON_EVENT_KIND_CONNECTION_REMOTE_CLOSE, ///< on_connection_remote_close
    session_remote_open = MUON_EVENT_KIND_SESSION_REMOTE_OPEN,     ///< on_session_remote_open
    session_remote_close = MUON_EVENT_KIND_SESSION_REMOTE_CLOSE,   ///< on_session_remote_close
    link_remote_attach = MUON_EVENT_KIND_LINK_REMOTE_ATTACH,       ///< on_link_remote_attach
    link_remote_open = MUON_EVENT_KIND_LINK_REMOTE_OPEN,           ///< on_link_remote_open
    link_remote_close = MUON_EVENT_KIND_LINK_REMOTE_CLOSE,         ///< on_link_remote_close
    link_flow = MUON_EVENT_KIND_LINK_FLOW,                         ///< on_link_flow
    message = MUON_EVENT_KIND_MESSAGE,                             ///< on_message
    accepted = MUON_EVENT_KIND_ACCEPTED,                           ///< on_accepted
    rejected = MUON_EVENT_KIND_REJECTED,                           ///< on_rejected
    released = MUON_EVENT_KIND_RELEASED,                           ///< on_released
    modified = MUON_EVENT_KIND_MODIFIED,                           ///< on_modified
    settled = MUON_EVENT_KIND_SETTLED,                             ///< on_settled
    disconnected = MUON_EVENT_KIND_DISCONNECTED,                   ///< on_disconnected
    reconnected = MUON_EVENT_KIND_RECONNECTED,                     ///< on_reconnected
    timer = MUON_EVENT_KIND_TIMER,                                 ///< on_timer
    listener_open = MUON_EVENT_KIND_LISTENER_OPEN,                 ///< on_listener_open
    connection_accepted = MUON_EVENT_KIND_CONNECTION_ACCEPTED,     ///< on_connection_accepted
    wake = MUON_EVENT_KIND_WAKE,                                   ///< on_wake
    link_final = MUON_EVENT_KIND_LINK_FINAL,                       ///< on_link_final
    connection_final = MUON_EVENT_KIND_CONNECTION_FINAL,           ///< on_connection_final
    listener_final = MUON_EVENT_KIND_LISTENER_FINAL,               ///< on_listener_final
    sasl_authenticate = MUON_EVENT_KIND_SASL_AUTHENTICATE,         ///< on_sasl_authenticate
    message_error = MUON_EVENT_KIND_MESSAGE_ERROR,                 ///< on_message_error
    transaction_declared = MUON_EVENT_KIND_TRANSACTION_DECLARED,   ///< on_transaction_declared
    transaction_discharged = MUON_EVENT_KIND_TRANSACTION_DISCHARGED, ///< on_transaction_discharged
    transaction_failed = MUON_EVENT_KIND_TRANSACTION_FAILED,       ///< on_transaction_failed
    coordinator_declare = MUON_EVENT_KIND_COORDINATOR_DECLARE,     ///< on_coordinator_declare
    coordinator_discharge = MUON_EVENT_KIND_COORDINATOR_DISCHARGE, ///< on_coordinator_discharge
};

/** The outcome a peer gave a delivery (`muon_delivery_state`). */
enum class delivery_state : int {
    none = MUON_DELIVERY_STATE_NONE,         ///< No outcome yet.
    accepted = MUON_DELIVERY_STATE_ACCEPTED, ///< Accepted.
    rejected = MUON_DELIVERY_STATE_REJECTED, ///< Rejected.
    released = MUON_DELIVERY_STATE_RELEASED, ///< Released.
    modified = MUON_DELIVERY_STATE_MODIFIED, ///< Modified.
    received = MUON_DELIVERY_STATE_RECEIVED, ///< Received (partial).
};

/** The form of a message's body (`muon_body_kind`). */
enum class body_kind : int {
    none = MUON_BODY_KIND_NONE,         ///< No message.
    value = MUON_BODY_KIND_VALUE,       ///< One amqp-value section.
    data = MUON_BODY_KIND_DATA,         ///< Data sections (bytes).
    sequence = MUON_BODY_KIND_SEQUENCE, ///< amqp-sequence sections (lists).
};

/** What of a terminus survives (`muon_durability`). */
enum class durability : int {
    none = MUON_DURABILITY_NONE,                       ///< Nothing (the default).
    configuration = MUON_DURABILITY_CONFIGURATION,     ///< Its configuration.
    unsettled_state = MUON_DURABILITY_UNSETTLED_STATE, ///< Configuration and unsettled state.
};

/** When a terminus's expiry timer starts (`muon_expiry_policy`). */
enum class expiry_policy : int {
    link_detach = MUON_EXPIRY_POLICY_LINK_DETACH,           ///< When the link detaches.
    session_end = MUON_EXPIRY_POLICY_SESSION_END,           ///< When the session ends (default).
    connection_close = MUON_EXPIRY_POLICY_CONNECTION_CLOSE, ///< When the connection closes.
    never = MUON_EXPIRY_POLICY_NEVER,                       ///< Never.
};

// ------------------------------------------------------- scalar wrappers

/** An AMQP symbol: ASCII text, a `std::string` of its own type. */
struct symbol : std::string {
    using std::string::string;
    /** A symbol holding `s`. */
    explicit symbol(std::string s) : std::string(std::move(s)) {}
    symbol() = default;
};

/** AMQP binary: bytes, a `std::vector<uint8_t>` of its own type. */
struct binary : std::vector<uint8_t> {
    using std::vector<uint8_t>::vector;
    binary() = default;
    /** The bytes of `v`. */
    explicit binary(std::vector<uint8_t> v) : std::vector<uint8_t>(std::move(v)) {}
    /** The bytes of a string. */
    explicit binary(std::string_view s) : std::vector<uint8_t>(s.begin(), s.end()) {}
};

/** An AMQP uuid: 16 bytes in RFC 4122 order. */
struct uuid {
    std::array<uint8_t, 16> bytes{}; ///< The bytes, as the text form reads left to right.

    /** The canonical text form, lower case 8-4-4-4-12. */
    std::string str() const {
        static const char hex[] = "0123456789abcdef";
        std::string s;
        for (std::size_t i = 0; i < 16; ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
            s += hex[bytes[i] >> 4];
            s += hex[bytes[i] & 15];
        }
        return s;
    }
    /**
     * Parses 32 hex digits, with or without the four dashes of the text
     * form; throws `muon::error` (invalid_argument) for anything else.
     */
    static uuid parse(std::string_view text) {
        uuid u;
        std::size_t n = 0;
        for (char c : text) {
            if (c == '-') continue;
            int d = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0 || n == 32) throw error(errc::invalid_argument, "muon::uuid::parse");
            u.bytes[n / 2] = static_cast<uint8_t>(u.bytes[n / 2] | (n % 2 ? d : d << 4));
            ++n;
        }
        if (n != 32) throw error(errc::invalid_argument, "muon::uuid::parse");
        return u;
    }
    /** Equal bytes. */
    friend bool operator==(const uuid &a, const uuid &b) noexcept { return a.bytes == b.bytes; }
    /** Different bytes. */
    friend bool operator!=(const uuid &a, const uuid &b) noexcept { return a.bytes != b.bytes; }
    /** Byte order, so that uuids can be map keys. */
    friend bool operator<(const uuid &a, const uuid &b) noexcept { return a.bytes < b.bytes; }
};

/** An AMQP timestamp: milliseconds since the Unix epoch. */
class timestamp {
public:
    /** The epoch. */
    constexpr timestamp() noexcept = default;
    /** `ms` milliseconds after the epoch (before it when negative). */
    constexpr explicit timestamp(int64_t ms) noexcept : ms_(ms) {}
    /** A time point, to the millisecond (rounded down). */
    explicit timestamp(std::chrono::system_clock::time_point t) noexcept
        : ms_(std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count()) {}
    /** Now, by the system clock. */
    static timestamp now() noexcept { return timestamp(std::chrono::system_clock::now()); }
    /** Milliseconds since the epoch. */
    constexpr int64_t milliseconds() const noexcept { return ms_; }
    /** As a system-clock time point. */
    std::chrono::system_clock::time_point time_point() const noexcept {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::milliseconds(ms_)));
    }
    /** The same instant. */
    friend constexpr bool operator==(timestamp a, timestamp b) noexcept { return a.ms_ == b.ms_; }
    /** Different instants. */
    friend constexpr bool operator!=(timestamp a, timestamp b) noexcept { return a.ms_ != b.ms_; }
    /** Earlier. */
    friend constexpr bool operator<(timestamp a, timestamp b) noexcept { return a.ms_ < b.ms_; }

private:
    int64_t ms_ = 0;
};

/** An AMQP decimal32, as its IEEE 754 bits (muon does no decimal arithmetic). */
struct decimal32 {
    uint32_t bits = 0; ///< The bits.
    /** The same bits. */
    friend bool operator==(decimal32 a, decimal32 b) noexcept { return a.bits == b.bits; }
    /** Different bits. */
    friend bool operator!=(decimal32 a, decimal32 b) noexcept { return a.bits != b.bits; }
};

/** An AMQP decimal64, as its IEEE 754 bits. */
struct decimal64 {
    uint64_t bits = 0; ///< The bits.
    /** The same bits. */
    friend bool operator==(decimal64 a, decimal64 b) noexcept { return a.bits == b.bits; }
    /** Different bits. */
    friend bool operator!=(decimal64 a, decimal64 b) noexcept { return a.bits != b.bits; }
};

/** An AMQP decimal128, as its 16 bytes in network order. */
struct decimal128 {
    std::array<uint8_t, 16> bytes{}; ///< The bytes.
    /** The same bytes. */
    friend bool operator==(const decimal128 &a, const decimal128 &b) noexcept {
        return a.bytes == b.bytes;
    }
    /** Different bytes. */
    friend bool operator!=(const decimal128 &a, const decimal128 &b) noexcept {
        return a.bytes != b.bytes;
    }
};

/** Writes the uuid's text form. */
inline std::ostream &operator<<(std::ostream &os, const uuid &u) { return os << u.str(); }
/** Writes the milliseconds since the epoch. */
inline std::ostream &operator<<(std::ostream &os, timestamp t) { return os << t.milliseconds(); }

// ---------------------------------------------------------------- values

class value;
struct described;
struct array;
/**
 * How a C++ type becomes an AMQP value and back: `static muon::value
 * encode(const T&)`, `static bool decode(muon::value_view, T&)` (false when
 * the value is of another type) and, for types an array can hold, `static
 * constexpr muon::type amqp_type`. Specialize it for types of your own.
 *
 * The ones provided: `std::nullptr_t` and `std::nullopt_t` (null), `bool`,
 * the integer types by size and sign (`int8_t` byte ... `uint64_t` ulong;
 * not `char`, which says nothing of its sign), `float`, `double`,
 * `char32_t` (char), `muon::decimal32`/`64`/`128`, `muon::timestamp` and
 * `std::chrono::system_clock::time_point` (timestamp), `muon::uuid`,
 * `muon::binary` and `std::vector<uint8_t>` (binary), `std::string`,
 * `std::string_view` and `const char *` (string; read as `std::string`),
 * `muon::symbol`, `std::vector<T>` (list; reads a list or an array),
 * `std::map<K, V>`, `std::unordered_map<K, V>` and
 * `std::vector<std::pair<K, V>>` (map), `muon::array_of<T>` and
 * `muon::array` (array), `muon::described`, `std::optional<T>` (null when
 * empty), `muon::value` and `muon::value_view` (a copy), and
 * `muon::amqp_variant` (any).
 */
template <class T, class Enable = void> struct codec;

/** A decoded AMQP list: its items, in order. */
using value_list = std::vector<value>;
/** A decoded AMQP map: its entries in wire order (keys may be of any type). */
using value_map = std::vector<std::pair<value, value>>;

/// @cond MUON_INTERNAL
namespace detail {
template <class T, class = void> struct has_codec : std::false_type {};
template <class T>
struct has_codec<T, std::void_t<decltype(codec<T>::encode(std::declval<const T &>()))>>
    : std::true_type {};
/** True if a T can be made into a muon::value. */
template <class T> inline constexpr bool encodable = has_codec<std::decay_t<T>>::value;
/** True if T is not Base (nor derived from it) and can be made into a muon::value. */
template <class T, class Base>
inline constexpr bool encodable_other =
    std::conjunction_v<std::negation<std::is_base_of<Base, std::decay_t<T>>>, has_codec<std::decay_t<T>>>;
} // namespace detail
/// @endcond

/**
 * A borrowed AMQP value of any type: a view of a `muon_value` owned by a
 * message, a container value or a `muon::value`, valid while its owner is
 * unchanged. An empty view (`!v`) stands for no value at all (an absent
 * field). Read it with `muon::get<T>(v)` or `muon::try_get<T>(v)`.
 */
class value_view {
public:
    /** An empty view: no value. */
    value_view() noexcept = default;
    /** A view of `v` (NULL: empty). */
    explicit value_view(const muon_value *v) noexcept : v_(v) {}
    /** The C value (NULL when empty). */
    const muon_value *get() const noexcept { return v_; }
    /** True unless the view is empty. */
    explicit operator bool() const noexcept { return v_ != nullptr; }
    /** The value's AMQP type; type::none when empty. */
    muon::type type() const noexcept { return static_cast<muon::type>(muon_value_type(v_)); }
    /** True for the AMQP null value (not for an empty view). */
    bool is_null() const noexcept { return type() == muon::type::null_; }
    /** The number of items of a list or array, or of entries of a map; else 0. */
    std::size_t size() const noexcept { return muon_value_len(v_); }
    /** Item `i` of a list or array (empty if there is none). */
    value_view operator[](std::size_t i) const noexcept {
        return value_view(type() == muon::type::array ? muon_value_array_get(v_, i)
                                                      : muon_value_list_get(v_, i));
    }
    /** The key of map entry `i` (empty if there is none). */
    value_view map_key(std::size_t i) const noexcept { return value_view(muon_value_map_key(v_, i)); }
    /** The value of map entry `i` (empty if there is none). */
    value_view map_value(std::size_t i) const noexcept {
        return value_view(muon_value_map_value(v_, i));
    }
    /** The value under the string key `key` of a map (empty if none). */
    value_view find(const std::string &key) const {
        return value_view(muon_value_map_get_string_key(v_, detail::c_str(key, "muon::value::find")));
    }
    /** The value under the symbol key `key` of a map (empty if none). */
    value_view find_symbol(const std::string &key) const {
        return value_view(
            muon_value_map_get_symbol_key(v_, detail::c_str(key, "muon::value::find_symbol")));
    }
    /** The element type of an array (type::none for anything else). */
    muon::type array_type() const noexcept {
        return static_cast<muon::type>(muon_value_array_type(v_));
    }
    /** The descriptor of a described value: a ulong or a symbol value. */
    value descriptor() const;
    /** The value a described value describes (empty for anything else). */
    value_view described_value() const noexcept {
        return value_view(muon_value_described_value(v_));
    }
    /**
     * The value as readable text (`muon_value_format`: Python's notation, a
     * top-level string bare): what the examples print.
     */
    std::string format() const {
        char small[256];
        std::size_t n = muon_value_format(v_, small, sizeof small);
        if (n < sizeof small) return std::string(small, n);
        std::string s(n + 1, '\0');
        muon_value_format(v_, &s[0], s.size());
        s.resize(n);
        return s;
    }
    /** The AMQP encoding of the value (empty for an empty view). */
    binary encode() const {
        binary out;
        if (v_ == nullptr) return out;
        std::size_t len = 0;
        muon_result rc = muon_value_encode(v_, nullptr, 0, &len);
        if (rc != MUON_RESULT_BUFFER_TOO_SMALL) detail::check(rc, "muon::value::encode");
        out.resize(len);
        detail::check(muon_value_encode(v_, out.data(), out.size(), &len), "muon::value::encode");
        out.resize(len);
        return out;
    }
    /** A deep copy that the caller owns. */
    value clone() const;

private:
    const muon_value *v_ = nullptr;
};

/** Writes the value as `format()` does (nothing for an empty view). */
inline std::ostream &operator<<(std::ostream &os, value_view v) {
    char small[256];
    std::size_t n = muon_value_format(v.get(), small, sizeof small);
    if (n < sizeof small) return os.write(small, static_cast<std::streamsize>(n));
    return os << v.format();
}

/**
 * True if both are empty, or both hold values with the same AMQP encoding
 * (same types and contents; map entries in the same order).
 */
inline bool operator==(value_view a, value_view b) {
    if (!a || !b) return !a && !b;
    return a.encode() == b.encode();
}
/** Not `a == b`. */
inline bool operator!=(value_view a, value_view b) { return !(a == b); }

/**
 * An AMQP value of any type that the program owns (a `muon_value`): made
 * from a C++ value of a type `muon::codec` knows (`muon::value v =
 * int64_t(5);`), copied deeply, freed when destroyed. Read it as a view
 * (`muon::get<T>(v)`). A moved-from value is empty.
 */
class value : public value_view {
public:
    /** The AMQP null value. */
    value() : value(make(muon_value_null, "muon::value")) {}
    /** The value of `x`, encoded as `muon::codec<T>` says. */
    template <class T, std::enable_if_t<detail::encodable_other<T, value_view>, int> = 0>
    value(const T &x) : value(codec<std::decay_t<T>>::encode(x)) {}
    /** A deep copy of the viewed value (the null value for an empty view). */
    explicit value(value_view v) : value(v ? adopt(copy_of(v.get())) : value()) {}
    /** A deep copy. */
    value(const value &o) : value(o ? adopt(copy_of(o.get())) : adopt(nullptr)) {}
    /** Takes `o`'s value; `o` is left empty. */
    value(value &&o) noexcept : value_view(o.get()), own_(o.own_) {
        o.reset_view();
    }
    /** A deep copy. */
    value &operator=(const value &o) {
        if (this != &o) *this = value(o);
        return *this;
    }
    /** Takes `o`'s value. */
    value &operator=(value &&o) noexcept {
        if (this != &o) {
            muon_value_free(own_);
            own_ = o.own_;
            static_cast<value_view &>(*this) = value_view(own_);
            o.reset_view();
        }
        return *this;
    }
    ~value() {
        if (own_ != nullptr) muon_value_free(own_);
    }

    /** Takes ownership of `v` (a value the caller owns, not a view). */
    static value adopt(muon_value *v) noexcept { return value(v, adopt_tag{}); }
    /** Gives up ownership: the caller frees the result. The value is left empty. */
    muon_value *release() noexcept {
        muon_value *v = own_;
        reset_view();
        return v;
    }
    using value_view::get;
    /** The C value, for calls that change it. */
    muon_value *get() noexcept { return own_; }

    /** An empty list; add items with `push_back`. */
    static value make_list() { return make(muon_value_list_new, "muon::value::make_list"); }
    /** An empty map; add entries with `put`. */
    static value make_map() { return make(muon_value_map_new, "muon::value::make_map"); }
    /** An empty array of `element_type`; add items with `push_back`. */
    static value make_array(muon::type element_type) {
        muon_value *v = nullptr;
        detail::check(muon_value_array_new(static_cast<muon_type>(element_type), &v),
                      "muon::value::make_array");
        return adopt(v);
    }
    /** A described value: `descriptor` (a ulong or a symbol) and what it describes. */
    static value make_described(value descriptor, value described_value) {
        muon_value *v = nullptr;
        detail::check(muon_value_described_new(descriptor.get(), described_value.get(), &v),
                      "muon::value::make_described");
        descriptor.release();
        described_value.release();
        return adopt(v);
    }
    /** Appends `item` to a list or an array (of the array's element type). */
    value &push_back(value item) {
        muon_result rc = type() == muon::type::array ? muon_value_array_append(own_, item.get())
                                                     : muon_value_list_append(own_, item.get());
        detail::check(rc, "muon::value::push_back");
        item.release();
        return *this;
    }
    /** Puts `key` → `v` in a map (an equal key's value is replaced). */
    value &put(value key, value v) {
        detail::check(muon_value_map_put(own_, key.get(), v.get()), "muon::value::put");
        key.release();
        v.release();
        return *this;
    }
    /** Decodes one AMQP value that fills exactly `len` bytes at `data`. */
    static value decode(const uint8_t *data, std::size_t len) {
        muon_value *v = nullptr;
        detail::check(muon_value_decode(data, len, &v), "muon::value::decode");
        return adopt(v);
    }
    /** Decodes one AMQP value that fills `bytes` exactly. */
    static value decode(const binary &bytes) { return decode(bytes.data(), bytes.size()); }

private:
    struct adopt_tag {};
    value(muon_value *v, adopt_tag) noexcept : value_view(v), own_(v) {}
    void reset_view() noexcept {
        own_ = nullptr;
        static_cast<value_view &>(*this) = value_view();
    }
    static muon_value *copy_of(const muon_value *v) {
        muon_value *out = nullptr;
        detail::check(muon_value_clone(v, &out), "muon::value (copy)");
        return out;
    }
    template <class F> static value make(F f, const char *what) {
        muon_value *v = nullptr;
        detail::check(f(&v), what);
        return adopt(v);
    }
    muon_value *own_ = nullptr;
};

inline value value_view::clone() const { return value(*this); }

/// @cond MUON_INTERNAL
namespace detail {
/** Calls a muon_value_* builder (out parameter last) and owns the result. */
template <class F, class... A> value build(const char *what, F f, A... a) {
    muon_value *out = nullptr;
    check(f(a..., &out), what);
    return value::adopt(out);
}
} // namespace detail
/// @endcond

inline value value_view::descriptor() const {
    uint64_t code = 0;
    if (muon_value_described_descriptor_code(v_, &code) == MUON_RESULT_OK) {
        muon_value *v = nullptr;
        detail::check(muon_value_ulong(code, &v), "muon::value::descriptor");
        return value::adopt(v);
    }
    muon_bytes b{};
    detail::check(muon_value_described_descriptor_symbol(v_, &b), "muon::value::descriptor");
    std::string s(reinterpret_cast<const char *>(b.ptr), b.len);
    muon_value *v = nullptr;
    detail::check(muon_value_symbol(s.c_str(), &v), "muon::value::descriptor");
    return value::adopt(v);
}

/** An AMQP described value: a descriptor (ulong or symbol) and a value. */
struct described {
    value descriptor; ///< A ulong or a symbol.
    value inner;      ///< The value described.
    /** A null value described by the ulong 0. */
    described() : descriptor(detail::build("muon::described", muon_value_ulong, uint64_t(0))) {}
    /** `inner` described by `descriptor`. */
    described(value descriptor_, value inner_)
        : descriptor(std::move(descriptor_)), inner(std::move(inner_)) {}
    /** Equal descriptors and values. */
    friend bool operator==(const described &a, const described &b) {
        return a.descriptor == b.descriptor && a.inner == b.inner;
    }
    /** Not equal. */
    friend bool operator!=(const described &a, const described &b) { return !(a == b); }
};

/**
 * An AMQP array of any element type, as decoded (`muon::array_of<T>` is
 * the typed form): the element type and the elements, each of that type.
 */
struct array {
    muon::type element_type = muon::type::null_; ///< The type of every element.
    std::vector<value> elements;                 ///< The elements.
    /** An empty array of nulls. */
    array() = default;
    /** An array of `t` holding `items`. */
    array(muon::type t, std::vector<value> items) : element_type(t), elements(std::move(items)) {}
    /** Same element type and elements. */
    friend bool operator==(const array &a, const array &b) {
        return a.element_type == b.element_type && a.elements == b.elements;
    }
    /** Not equal. */
    friend bool operator!=(const array &a, const array &b) { return !(a == b); }
};

/**
 * An AMQP array of T (a `std::vector<T>` of its own type; a plain
 * `std::vector<T>` is a list): `muon::array_of<int32_t>{1, 2, 3}` is
 * `@int[1, 2, 3]`. T's AMQP type is its codec's `amqp_type`.
 */
template <class T> struct array_of : std::vector<T> {
    using std::vector<T>::vector;
    array_of() = default;
    /** The elements of `v`. */
    explicit array_of(std::vector<T> v) : std::vector<T>(std::move(v)) {}
};

/**
 * Every AMQP type as a C++ type, in `muon::type` order (index + 1 is the
 * type's number): what `muon::get<muon::amqp_variant>(v)` decodes any
 * value to, one level deep (lists, maps, arrays and described values hold
 * `muon::value`s).
 */
using amqp_variant =
    std::variant<std::nullptr_t, bool, uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t,
                 int32_t, int64_t, float, double, decimal32, decimal64, decimal128, char32_t,
                 timestamp, uuid, binary, std::string, symbol, value_list, value_map, array,
                 described>;

/**
 * Reads `v` as a T (see `muon::codec` for the types): the AMQP type must
 * match T's exactly (a list or an array for `std::vector<T>`; null or a T
 * for `std::optional<T>`; anything for `muon::value` and
 * `muon::amqp_variant`). Throws `muon::error` (wrong_type) otherwise,
 * also for an empty view.
 */
template <class T> T get(value_view v) {
    T out{};
    if (!codec<T>::decode(v, out)) {
        throw error(errc::wrong_type, std::string("muon::get: a value of type ") +
                                          to_string(v.type()) + " does not read as the type asked");
    }
    return out;
}

/** Reads `v` as a T like `muon::get`, or std::nullopt when it is not one. */
template <class T> std::optional<T> try_get(value_view v) {
    T out{};
    if (!codec<T>::decode(v, out)) return std::nullopt;
    return std::optional<T>(std::move(out));
}

// ---------------------------------------------------------------- codecs

/// @cond MUON_INTERNAL
namespace detail {
template <class X, class F> bool read(value_view v, X &out, F f) {
    return f(v.get(), &out) == MUON_RESULT_OK;
}
inline bool read_bytes(value_view v, std::string &out,
                       muon_result (*f)(const muon_value *, muon_bytes *)) {
    muon_bytes b{};
    if (f(v.get(), &b) != MUON_RESULT_OK) return false;
    out.assign(reinterpret_cast<const char *>(b.ptr), b.len);
    return true;
}
template <class T> struct is_character : std::bool_constant<std::is_same_v<T, char> ||
                                                             std::is_same_v<T, wchar_t> ||
                                                             std::is_same_v<T, char16_t> ||
                                                             std::is_same_v<T, char32_t>> {};
#ifdef __cpp_char8_t
template <> struct is_character<char8_t> : std::true_type {};
#endif
template <class T> struct is_amqp_integer
    : std::bool_constant<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                         !is_character<T>::value && sizeof(T) <= 8> {};
template <class T> value encode(const T &x) { return codec<T>::encode(x); }
} // namespace detail
/// @endcond


/** null. */
template <> struct codec<std::nullptr_t> {
    static constexpr type amqp_type = type::null_; ///< null
    /** The null value. */
    static value encode(std::nullptr_t) { return value(); }
    /** True for null. */
    static bool decode(value_view v, std::nullptr_t &) { return v.is_null(); }
};
/** null. */
template <> struct codec<std::nullopt_t> {
    /** The null value. */
    static value encode(std::nullopt_t) { return value(); }
};
/** boolean. */
template <> struct codec<bool> {
    static constexpr type amqp_type = type::boolean; ///< boolean
    /** A boolean. */
    static value encode(bool x) { return detail::build("muon::value(bool)", muon_value_bool, x); }
    /** Reads a boolean. */
    static bool decode(value_view v, bool &out) { return detail::read(v, out, muon_value_get_bool); }
};
/** The integer types, by size and sign: byte, short, int, long, ubyte ... ulong. */
template <class T> struct codec<T, std::enable_if_t<detail::is_amqp_integer<T>::value>> {
    /** The AMQP type of T. */
    static constexpr type amqp_type =
        std::is_signed_v<T>
            ? (sizeof(T) == 1 ? type::byte
               : sizeof(T) == 2 ? type::short_
               : sizeof(T) == 4 ? type::int_
                                : type::long_)
            : (sizeof(T) == 1 ? type::ubyte
               : sizeof(T) == 2 ? type::ushort
               : sizeof(T) == 4 ? type::uint
                                : type::ulong);
    /** An integer of T's AMQP type. */
    static value encode(T x) {
        const char *what = "muon::value(integer)";
        if constexpr (amqp_type == type::byte) return detail::build(what, muon_value_byte, int8_t(x));
        else if constexpr (amqp_type == type::short_) return detail::build(what, muon_value_short, int16_t(x));
        else if constexpr (amqp_type == type::int_) return detail::build(what, muon_value_int, int32_t(x));
        else if constexpr (amqp_type == type::long_) return detail::build(what, muon_value_long, int64_t(x));
        else if constexpr (amqp_type == type::ubyte) return detail::build(what, muon_value_ubyte, uint8_t(x));
        else if constexpr (amqp_type == type::ushort) return detail::build(what, muon_value_ushort, uint16_t(x));
        else if constexpr (amqp_type == type::uint) return detail::build(what, muon_value_uint, uint32_t(x));
        else return detail::build(what, muon_value_ulong, uint64_t(x));
    }
    /** Reads an integer of T's AMQP type exactly. */
    static bool decode(value_view v, T &out) {
        bool ok = false;
        if constexpr (amqp_type == type::byte) { int8_t x = 0; ok = detail::read(v, x, muon_value_get_byte); out = T(x); }
        else if constexpr (amqp_type == type::short_) { int16_t x = 0; ok = detail::read(v, x, muon_value_get_short); out = T(x); }
        else if constexpr (amqp_type == type::int_) { int32_t x = 0; ok = detail::read(v, x, muon_value_get_int); out = T(x); }
        else if constexpr (amqp_type == type::long_) { int64_t x = 0; ok = detail::read(v, x, muon_value_get_long); out = T(x); }
        else if constexpr (amqp_type == type::ubyte) { uint8_t x = 0; ok = detail::read(v, x, muon_value_get_ubyte); out = T(x); }
        else if constexpr (amqp_type == type::ushort) { uint16_t x = 0; ok = detail::read(v, x, muon_value_get_ushort); out = T(x); }
        else if constexpr (amqp_type == type::uint) { uint32_t x = 0; ok = detail::read(v, x, muon_value_get_uint); out = T(x); }
        else { uint64_t x = 0; ok = detail::read(v, x, muon_value_get_ulong); out = T(x); }
        return ok;
    }
};
/** float. */
template <> struct codec<float> {
    static constexpr type amqp_type = type::float_; ///< float
    /** A float. */
    static value encode(float x) { return detail::build("muon::value(float)", muon_value_float, x); }
    /** Reads a float. */
    static bool decode(value_view v, float &out) { return detail::read(v, out, muon_value_get_float); }
};
/** double. */
template <> struct codec<double> {
    static constexpr type amqp_type = type::double_; ///< double
    /** A double. */
    static value encode(double x) { return detail::build("muon::value(double)", muon_value_double, x); }
    /** Reads a double. */
    static bool decode(value_view v, double &out) { return detail::read(v, out, muon_value_get_double); }
};
/** char: a Unicode scalar value. */
template <> struct codec<char32_t> {
    static constexpr type amqp_type = type::char_; ///< char
    /** A char (out_of_range for a surrogate or a number above U+10FFFF). */
    static value encode(char32_t x) {
        return detail::build("muon::value(char32_t)", muon_value_char, uint32_t(x));
    }
    /** Reads a char. */
    static bool decode(value_view v, char32_t &out) {
        uint32_t x = 0;
        if (!detail::read(v, x, muon_value_get_char)) return false;
        out = char32_t(x);
        return true;
    }
};
/** decimal32. */
template <> struct codec<decimal32> {
    static constexpr type amqp_type = type::decimal32; ///< decimal32
    /** A decimal32. */
    static value encode(decimal32 x) {
        return detail::build("muon::value(decimal32)", muon_value_decimal32, x.bits);
    }
    /** Reads a decimal32. */
    static bool decode(value_view v, decimal32 &out) {
        return detail::read(v, out.bits, muon_value_get_decimal32);
    }
};
/** decimal64. */
template <> struct codec<decimal64> {
    static constexpr type amqp_type = type::decimal64; ///< decimal64
    /** A decimal64. */
    static value encode(decimal64 x) {
        return detail::build("muon::value(decimal64)", muon_value_decimal64, x.bits);
    }
    /** Reads a decimal64. */
    static bool decode(value_view v, decimal64 &out) {
        return detail::read(v, out.bits, muon_value_get_decimal64);
    }
};
/** decimal128. */
template <> struct codec<decimal128> {
    static constexpr type amqp_type = type::decimal128; ///< decimal128
    /** A decimal128. */
    static value encode(const decimal128 &x) {
        return detail::build("muon::value(decimal128)", muon_value_decimal128, x.bytes.data());
    }
    /** Reads a decimal128. */
    static bool decode(value_view v, decimal128 &out) {
        return muon_value_get_decimal128(v.get(), out.bytes.data()) == MUON_RESULT_OK;
    }
};
/** timestamp. */
template <> struct codec<timestamp> {
    static constexpr type amqp_type = type::timestamp; ///< timestamp
    /** A timestamp. */
    static value encode(timestamp x) {
        return detail::build("muon::value(timestamp)", muon_value_timestamp, x.milliseconds());
    }
    /** Reads a timestamp. */
    static bool decode(value_view v, timestamp &out) {
        int64_t ms = 0;
        if (!detail::read(v, ms, muon_value_get_timestamp)) return false;
        out = timestamp(ms);
        return true;
    }
};
/** timestamp, from and to a system-clock time point (milliseconds). */
template <> struct codec<std::chrono::system_clock::time_point> {
    static constexpr type amqp_type = type::timestamp; ///< timestamp
    /** A timestamp (rounded down to the millisecond). */
    static value encode(std::chrono::system_clock::time_point t) {
        return codec<timestamp>::encode(timestamp(t));
    }
    /** Reads a timestamp. */
    static bool decode(value_view v, std::chrono::system_clock::time_point &out) {
        timestamp t;
        if (!codec<timestamp>::decode(v, t)) return false;
        out = t.time_point();
        return true;
    }
};
/** uuid. */
template <> struct codec<uuid> {
    static constexpr type amqp_type = type::uuid; ///< uuid
    /** A uuid. */
    static value encode(const uuid &x) {
        return detail::build("muon::value(uuid)", muon_value_uuid, x.bytes.data());
    }
    /** Reads a uuid. */
    static bool decode(value_view v, uuid &out) {
        return muon_value_get_uuid(v.get(), out.bytes.data()) == MUON_RESULT_OK;
    }
};
/** binary. */
template <> struct codec<binary> {
    static constexpr type amqp_type = type::binary; ///< binary
    /** A binary. */
    static value encode(const binary &x) {
        return detail::build("muon::value(binary)", muon_value_binary, x.data(), x.size());
    }
    /** Reads a binary. */
    static bool decode(value_view v, binary &out) {
        muon_bytes b{};
        if (muon_value_get_binary(v.get(), &b) != MUON_RESULT_OK) return false;
        out.assign(b.ptr, b.ptr + b.len);
        return true;
    }
};
/** binary, as a plain vector of bytes. */
template <> struct codec<std::vector<uint8_t>> {
    static constexpr type amqp_type = type::binary; ///< binary
    /** A binary. */
    static value encode(const std::vector<uint8_t> &x) {
        return detail::build("muon::value(binary)", muon_value_binary, x.data(), x.size());
    }
    /** Reads a binary. */
    static bool decode(value_view v, std::vector<uint8_t> &out) {
        muon_bytes b{};
        if (muon_value_get_binary(v.get(), &b) != MUON_RESULT_OK) return false;
        out.assign(b.ptr, b.ptr + b.len);
        return true;
    }
};
/** string. */
template <> struct codec<std::string> {
    static constexpr type amqp_type = type::string; ///< string
    /** A string (invalid_utf8 for bytes that are not UTF-8). */
    static value encode(const std::string &x) {
        return detail::build("muon::value(string)", muon_value_string,
                             detail::c_str(x, "muon::value(string)"));
    }
    /** Reads a string (all of it, NULs included). */
    static bool decode(value_view v, std::string &out) {
        return detail::read_bytes(v, out, muon_value_get_string);
    }
};
/** string, from a view. */
template <> struct codec<std::string_view> {
    static constexpr type amqp_type = type::string; ///< string
    /** A string. */
    static value encode(std::string_view x) { return codec<std::string>::encode(std::string(x)); }
};
/** string, from a C string. */
template <> struct codec<const char *> {
    static constexpr type amqp_type = type::string; ///< string
    /** A string (NULL: null_argument). */
    static value encode(const char *x) {
        return detail::build("muon::value(string)", muon_value_string, x);
    }
};
/** string, from a C string. */
template <> struct codec<char *> {
    static constexpr type amqp_type = type::string; ///< string
    /** A string. */
    static value encode(const char *x) { return codec<const char *>::encode(x); }
};
/** symbol. */
template <> struct codec<symbol> {
    static constexpr type amqp_type = type::symbol; ///< symbol
    /** A symbol (invalid_argument for text that is not ASCII). */
    static value encode(const symbol &x) {
        return detail::build("muon::value(symbol)", muon_value_symbol,
                             detail::c_str(x, "muon::value(symbol)"));
    }
    /** Reads a symbol. */
    static bool decode(value_view v, symbol &out) {
        return detail::read_bytes(v, out, muon_value_get_symbol);
    }
};
/** A copy of a value. */
template <> struct codec<value> {
    /** A deep copy. */
    static value encode(const value &x) { return value(static_cast<value_view>(x)); }
    /** A deep copy of any value (false for an empty view). */
    static bool decode(value_view v, value &out) {
        if (!v) return false;
        out = value(v);
        return true;
    }
};
/** A copy of a viewed value. */
template <> struct codec<value_view> {
    /** A deep copy. */
    static value encode(value_view x) { return value(x); }
};
/** list: a std::vector of any type with a codec (but uint8_t, which is binary). */
template <class T, class A> struct codec<std::vector<T, A>> {
    static constexpr type amqp_type = type::list; ///< list
    /** A list of the items. */
    static value encode(const std::vector<T, A> &x) {
        value l = value::make_list();
        for (const auto &item : x) l.push_back(detail::encode(item));
        return l;
    }
    /** Reads a list or an array whose every item reads as a T. */
    static bool decode(value_view v, std::vector<T, A> &out) {
        if (v.type() != type::list && v.type() != type::array) return false;
        std::vector<T, A> items;
        items.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            T item{};
            if (!codec<T>::decode(v[i], item)) return false;
            items.push_back(std::move(item));
        }
        out = std::move(items);
        return true;
    }
};
/// @cond MUON_INTERNAL
namespace detail {
template <class M> value encode_map(const M &x) {
    value m = value::make_map();
    for (const auto &kv : x) m.put(detail::encode(kv.first), detail::encode(kv.second));
    return m;
}
template <class K, class V, class Put> bool decode_map(value_view v, Put put) {
    if (v.type() != type::map) return false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        K k{};
        V x{};
        if (!codec<K>::decode(v.map_key(i), k) || !codec<V>::decode(v.map_value(i), x)) return false;
        put(std::move(k), std::move(x));
    }
    return true;
}
} // namespace detail
/// @endcond
/** map, in the vector's order (keys of any type, as on the wire). */
template <class K, class V, class A> struct codec<std::vector<std::pair<K, V>, A>> {
    static constexpr type amqp_type = type::map; ///< map
    /** A map with the entries in order. */
    static value encode(const std::vector<std::pair<K, V>, A> &x) { return detail::encode_map(x); }
    /** Reads a map whose keys read as K and values as V, in wire order. */
    static bool decode(value_view v, std::vector<std::pair<K, V>, A> &out) {
        std::vector<std::pair<K, V>, A> entries;
        if (!detail::decode_map<K, V>(v, [&](K k, V x) { entries.emplace_back(std::move(k), std::move(x)); })) {
            return false;
        }
        out = std::move(entries);
        return true;
    }
};
/** map. */
template <class K, class V, class C, class A> struct codec<std::map<K, V, C, A>> {
    static constexpr type amqp_type = type::map; ///< map
    /** A map, in the std::map's key order. */
    static value encode(const std::map<K, V, C, A> &x) { return detail::encode_map(x); }
    /** Reads a map whose keys read as K and values as V. */
    static bool decode(value_view v, std::map<K, V, C, A> &out) {
        std::map<K, V, C, A> m;
        if (!detail::decode_map<K, V>(v, [&](K k, V x) { m.insert_or_assign(std::move(k), std::move(x)); })) {
            return false;
        }
        out = std::move(m);
        return true;
    }
};
/** map. */
template <class K, class V, class H, class E, class A>
struct codec<std::unordered_map<K, V, H, E, A>> {
    static constexpr type amqp_type = type::map; ///< map
    /** A map, in the container's iteration order. */
    static value encode(const std::unordered_map<K, V, H, E, A> &x) { return detail::encode_map(x); }
    /** Reads a map whose keys read as K and values as V. */
    static bool decode(value_view v, std::unordered_map<K, V, H, E, A> &out) {
        std::unordered_map<K, V, H, E, A> m;
        if (!detail::decode_map<K, V>(v, [&](K k, V x) { m.insert_or_assign(std::move(k), std::move(x)); })) {
            return false;
        }
        out = std::move(m);
        return true;
    }
};
/** array of T. */
template <class T> struct codec<array_of<T>> {
    static constexpr type amqp_type = type::array; ///< array
    /** An array of T's AMQP type. */
    static value encode(const array_of<T> &x) {
        value a = value::make_array(codec<T>::amqp_type);
        for (const auto &item : x) a.push_back(detail::encode(item));
        return a;
    }
    /** Reads an array (not a list) whose elements read as T. */
    static bool decode(value_view v, array_of<T> &out) {
        if (v.type() != type::array) return false;
        array_of<T> items;
        items.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            T item{};
            if (!codec<T>::decode(v[i], item)) return false;
            items.push_back(std::move(item));
        }
        out = std::move(items);
        return true;
    }
};
/** array, of any element type. */
template <> struct codec<array> {
    static constexpr type amqp_type = type::array; ///< array
    /** An array of `element_type` holding the elements. */
    static value encode(const array &x) {
        value a = value::make_array(x.element_type);
        for (const auto &item : x.elements) a.push_back(item);
        return a;
    }
    /** Reads an array. */
    static bool decode(value_view v, array &out) {
        if (v.type() != type::array) return false;
        array a;
        a.element_type = v.array_type();
        for (std::size_t i = 0; i < v.size(); ++i) a.elements.emplace_back(v[i]);
        out = std::move(a);
        return true;
    }
};
/** described. */
template <> struct codec<described> {
    static constexpr type amqp_type = type::described; ///< described
    /** A described value. */
    static value encode(const described &x) { return value::make_described(x.descriptor, x.inner); }
    /** Reads a described value. */
    static bool decode(value_view v, described &out) {
        if (v.type() != type::described) return false;
        out = described(v.descriptor(), value(v.described_value()));
        return true;
    }
};
/** T, or null when empty. */
template <class T> struct codec<std::optional<T>> {
    /** T's value, or null. */
    static value encode(const std::optional<T> &x) { return x ? detail::encode(*x) : value(); }
    /** Reads null as std::nullopt, anything else as a T. */
    static bool decode(value_view v, std::optional<T> &out) {
        if (v.is_null()) {
            out.reset();
            return true;
        }
        T x{};
        if (!codec<T>::decode(v, x)) return false;
        out = std::move(x);
        return true;
    }
};
/** Any AMQP value. */
template <> struct codec<amqp_variant> {
    /** The alternative's value. */
    static value encode(const amqp_variant &x) {
        return std::visit([](const auto &alt) { return detail::encode(alt); }, x);
    }
    /** Reads any value (false for an empty view). */
    static bool decode(value_view v, amqp_variant &out) {
        int t = static_cast<int>(v.type());
        if (t < 1 || t > MUON_TYPE_DESCRIBED) return false;
        return decode_as(v, out, std::make_index_sequence<std::variant_size_v<amqp_variant>>{}, t - 1);
    }

private:
    template <std::size_t... I>
    static bool decode_as(value_view v, amqp_variant &out, std::index_sequence<I...>, int index) {
        bool ok = false;
        (void)((static_cast<int>(I) == index && ((ok = decode_alt<I>(v, out)), true)) || ...);
        return ok;
    }
    template <std::size_t I> static bool decode_alt(value_view v, amqp_variant &out) {
        std::variant_alternative_t<I, amqp_variant> x{};
        if (!codec<decltype(x)>::decode(v, x)) return false;
        out.template emplace<I>(std::move(x));
        return true;
    }
};

// ----------------------------------------------------- conditions, termini

/**
 * An AMQP error condition, copied out of the C library: a symbolic name
 * such as `amqp:not-found`, a description (may be empty) and an optional
 * info map.
 */
struct condition {
    std::string name;          ///< The symbolic name, e.g. `amqp:unauthorized-access`.
    std::string description;   ///< The description; empty if none.
    std::optional<value> info; ///< The info map (symbol keys), if any.

    /** An empty condition (no name). */
    condition() = default;
    /** A condition to close something with. */
    explicit condition(std::string name_, std::string description_ = {},
                       std::optional<value> info_ = std::nullopt)
        : name(std::move(name_)), description(std::move(description_)), info(std::move(info_)) {}
    /** A copy of a C condition; std::nullopt for NULL. */
    static std::optional<condition> from(const muon_condition *c) {
        if (c == nullptr) return std::nullopt;
        const char *n = muon_condition_name(c);
        const char *d = muon_condition_description(c);
        const muon_value *i = muon_condition_info(c);
        return condition(n ? n : "", d ? d : "",
                         i ? std::optional<value>(value(value_view(i))) : std::nullopt);
    }
    /** "name: description", or the name alone when there is no description. */
    std::string str() const { return description.empty() ? name : name + ": " + description; }
};

/** Writes `c.str()`. */
inline std::ostream &operator<<(std::ostream &os, const condition &c) { return os << c.str(); }

/** A source or target terminus as the peer attached it, copied out. */
struct terminus {
    std::optional<std::string> address;                        ///< Its address, if any.
    bool dynamic = false;                                      ///< Whether it is dynamic.
    muon::durability durability = muon::durability::none;     ///< What of it survives.
    muon::expiry_policy expiry_policy = muon::expiry_policy::session_end; ///< When it expires.
    std::chrono::milliseconds timeout{0};                      ///< Its expiry timeout.
    std::optional<std::string> distribution_mode;              ///< `move`, `copy`, or none.
    std::vector<std::string> capabilities;                     ///< Its capabilities.
    std::optional<value> dynamic_node_properties;              ///< Its dynamic node properties.
    std::optional<value> filter;                               ///< Its filter map.

    /** A copy of a C terminus view; std::nullopt for NULL. */
    static std::optional<terminus> from(const muon_terminus *t) {
        if (t == nullptr) return std::nullopt;
        terminus x;
        x.address = detail::opt_string(muon_terminus_address(t));
        x.dynamic = muon_terminus_is_dynamic(t);
        x.durability = static_cast<muon::durability>(muon_terminus_durability(t));
        x.expiry_policy = static_cast<muon::expiry_policy>(muon_terminus_expiry_policy(t));
        x.timeout = std::chrono::milliseconds(muon_terminus_timeout_ms(t));
        x.distribution_mode = detail::opt_string(muon_terminus_distribution_mode(t));
        for (std::size_t i = 0; i < muon_terminus_capability_count(t); ++i) {
            if (const char *c = muon_terminus_capability(t, i)) x.capabilities.emplace_back(c);
        }
        if (const muon_value *p = muon_terminus_dynamic_node_properties(t)) x.dynamic_node_properties = value(value_view(p));
        if (const muon_value *f = muon_terminus_filter(t)) x.filter = value(value_view(f));
        return x;
    }
    /** True if `capability` is among its capabilities. */
    bool has_capability(std::string_view capability) const {
        for (const auto &c : capabilities) {
            if (c == capability) return true;
        }
        return false;
    }
};

// ---------------------------------------------------------------- messages

/// @cond MUON_INTERNAL
namespace detail {
using key_fn = const muon_value *(*)(const muon_message *, const char *);
using index_fn = const muon_value *(*)(const muon_message *, std::size_t);
using count_fn = std::size_t (*)(const muon_message *);
inline std::optional<value> opt_value(const muon_value *v) {
    if (v == nullptr) return std::nullopt;
    return value(value_view(v));
}
inline value_map entries(const muon_message *m, count_fn count, index_fn key, index_fn val) {
    value_map out;
    for (std::size_t i = 0; i < count(m); ++i) {
        out.emplace_back(value(value_view(key(m, i))), value(value_view(val(m, i))));
    }
    return out;
}
} // namespace detail
/// @endcond

/**
 * A borrowed AMQP message (a view of a `muon_message`): the one handed to
 * `on_message` is valid until the callback returns; copy it into a
 * `muon::message` to keep it. Every getter copies what it returns, so the
 * results outlive the view. Absent fields are std::nullopt.
 */
class message_view {
public:
    /** An empty view: no message. */
    message_view() noexcept = default;
    /** A view of `m` (NULL: empty). */
    explicit message_view(const muon_message *m) noexcept : m_(m) {}
    /** The C message (NULL when empty). */
    const muon_message *get() const noexcept { return m_; }
    /** True unless the view is empty. */
    explicit operator bool() const noexcept { return m_ != nullptr; }

    /** The form of the body. */
    muon::body_kind body_kind() const noexcept {
        return static_cast<muon::body_kind>(muon_message_body_kind(m_));
    }
    /** The amqp-value body, as a view (empty when the body is data or sequence sections). */
    value_view body() const noexcept { return value_view(muon_message_body(m_)); }
    /** The amqp-value body read as a T (`muon::get<T>`): `m.body<std::string>()`. */
    template <class T> T body() const { return muon::get<T>(body()); }
    /** How many data sections the body has (0 unless it is data). */
    std::size_t body_data_count() const noexcept { return muon_message_body_data_count(m_); }
    /** The bytes of data section `section`. */
    binary body_data(std::size_t section = 0) const {
        muon_bytes b{};
        detail::check(muon_message_body_data(m_, section, &b), "muon::message::body_data");
        return binary(b.ptr, b.ptr + b.len);
    }
    /** How many amqp-sequence sections the body has. */
    std::size_t body_sequence_count() const noexcept { return muon_message_body_sequence_count(m_); }
    /** The items of amqp-sequence section `section`. */
    value_list body_sequence(std::size_t section = 0) const {
        value_list out;
        std::size_t n = muon_message_body_sequence_len(m_, section);
        for (std::size_t i = 0; i < n; ++i) {
            out.emplace_back(value_view(muon_message_body_sequence_get(m_, section, i)));
        }
        return out;
    }

    /** header: durable (default false). */
    bool durable() const noexcept { return muon_message_durable(m_); }
    /** header: priority (default 4). */
    uint8_t priority() const noexcept { return muon_message_priority(m_); }
    /** header: time to live, if set. */
    std::optional<std::chrono::milliseconds> ttl() const noexcept {
        uint64_t ms = 0;
        if (!muon_message_ttl(m_, &ms)) return std::nullopt;
        return std::chrono::milliseconds(static_cast<int64_t>(ms));
    }
    /** header: first-acquirer (default false). */
    bool first_acquirer() const noexcept { return muon_message_first_acquirer(m_); }
    /** header: delivery count (default 0). */
    uint32_t delivery_count() const noexcept { return muon_message_delivery_count(m_); }

    /** properties: message-id (a ulong, uuid, binary or string value). */
    std::optional<value> id() const { return detail::opt_value(muon_message_id(m_)); }
    /** properties: user-id. */
    std::optional<binary> user_id() const {
        muon_bytes b{};
        if (!muon_message_user_id(m_, &b)) return std::nullopt;
        return binary(b.ptr, b.ptr + b.len);
    }
    /** properties: to. */
    std::optional<std::string> to() const { return detail::opt_string(muon_message_to(m_)); }
    /** properties: subject. */
    std::optional<std::string> subject() const { return detail::opt_string(muon_message_subject(m_)); }
    /** properties: reply-to. */
    std::optional<std::string> reply_to() const { return detail::opt_string(muon_message_reply_to(m_)); }
    /** properties: correlation-id. */
    std::optional<value> correlation_id() const {
        return detail::opt_value(muon_message_correlation_id(m_));
    }
    /** properties: content-type (a symbol). */
    std::optional<std::string> content_type() const {
        return detail::opt_string(muon_message_content_type(m_));
    }
    /** properties: content-encoding (a symbol). */
    std::optional<std::string> content_encoding() const {
        return detail::opt_string(muon_message_content_encoding(m_));
    }
    /** properties: absolute-expiry-time. */
    std::optional<timestamp> absolute_expiry_time() const noexcept {
        int64_t ms = 0;
        if (!muon_message_absolute_expiry_time(m_, &ms)) return std::nullopt;
        return timestamp(ms);
    }
    /** properties: creation-time. */
    std::optional<timestamp> creation_time() const noexcept {
        int64_t ms = 0;
        if (!muon_message_creation_time(m_, &ms)) return std::nullopt;
        return timestamp(ms);
    }
    /** properties: group-id. */
    std::optional<std::string> group_id() const { return detail::opt_string(muon_message_group_id(m_)); }
    /** properties: group-sequence. */
    std::optional<uint32_t> group_sequence() const noexcept {
        uint32_t n = 0;
        if (!muon_message_group_sequence(m_, &n)) return std::nullopt;
        return n;
    }
    /** properties: reply-to-group-id. */
    std::optional<std::string> reply_to_group_id() const {
        return detail::opt_string(muon_message_reply_to_group_id(m_));
    }

    /** The application property `key`, if present. */
    std::optional<value> property(const std::string &key) const {
        return detail::opt_value(muon_message_property(m_, detail::c_str(key, "muon::message::property")));
    }
    /** The application property `key` read as a T, if present (wrong_type if it is not a T). */
    template <class T> std::optional<T> property(const std::string &key) const {
        return typed<T>(property(key));
    }
    /** The application property `key` if it is a string (wrong_type if it is another type). */
    std::optional<std::string> string_property(const std::string &key) const {
        muon_bytes b{};
        if (!found(muon_message_get_property_string(m_, detail::c_str(key, "muon::message::string_property"), &b),
                   "muon::message::string_property")) {
            return std::nullopt;
        }
        return std::string(reinterpret_cast<const char *>(b.ptr), b.len);
    }
    /** The application property `key` if it is a long (wrong_type if it is another type). */
    std::optional<int64_t> long_property(const std::string &key) const {
        int64_t x = 0;
        if (!found(muon_message_get_property_long(m_, detail::c_str(key, "muon::message::long_property"), &x),
                   "muon::message::long_property")) {
            return std::nullopt;
        }
        return x;
    }
    /** The application property `key` if it is a boolean (wrong_type if it is another type). */
    std::optional<bool> bool_property(const std::string &key) const {
        bool x = false;
        if (!found(muon_message_get_property_bool(m_, detail::c_str(key, "muon::message::bool_property"), &x),
                   "muon::message::bool_property")) {
            return std::nullopt;
        }
        return x;
    }
    /** Every application property, by key. */
    std::map<std::string, value> properties() const {
        std::map<std::string, value> out;
        for (std::size_t i = 0; i < muon_message_property_count(m_); ++i) {
            out.insert_or_assign(muon::get<std::string>(value_view(muon_message_property_key(m_, i))),
                                 value(value_view(muon_message_property_value(m_, i))));
        }
        return out;
    }
    /** The message annotation under the symbol `key`, if present. */
    std::optional<value> annotation(const std::string &key) const {
        return detail::opt_value(
            muon_message_annotation(m_, detail::c_str(key, "muon::message::annotation")));
    }
    /** The message annotation `key` read as a T, if present. */
    template <class T> std::optional<T> annotation(const std::string &key) const {
        return typed<T>(annotation(key));
    }
    /** Every message annotation, in wire order. */
    value_map annotations() const {
        return detail::entries(m_, muon_message_annotation_count, muon_message_annotation_key,
                               muon_message_annotation_value);
    }
    /** The delivery annotation under the symbol `key`, if present. */
    std::optional<value> delivery_annotation(const std::string &key) const {
        return detail::opt_value(muon_message_delivery_annotation(
            m_, detail::c_str(key, "muon::message::delivery_annotation")));
    }
    /** The delivery annotation `key` read as a T, if present. */
    template <class T> std::optional<T> delivery_annotation(const std::string &key) const {
        return typed<T>(delivery_annotation(key));
    }
    /** Every delivery annotation, in wire order. */
    value_map delivery_annotations() const {
        return detail::entries(m_, muon_message_delivery_annotation_count,
                               muon_message_delivery_annotation_key,
                               muon_message_delivery_annotation_value);
    }
    /** The footer entry under the symbol `key`, if present. */
    std::optional<value> footer(const std::string &key) const {
        return detail::opt_value(muon_message_footer(m_, detail::c_str(key, "muon::message::footer")));
    }
    /** The footer entry `key` read as a T, if present. */
    template <class T> std::optional<T> footer(const std::string &key) const {
        return typed<T>(footer(key));
    }
    /** Every footer entry, in wire order. */
    value_map footers() const {
        return detail::entries(m_, muon_message_footer_count, muon_message_footer_key,
                               muon_message_footer_value);
    }

    /** The AMQP encoding of the message (a transfer's payload). */
    binary encode() const {
        binary out;
        std::size_t len = 0;
        muon_result rc = muon_message_encode(m_, nullptr, 0, &len);
        if (rc != MUON_RESULT_BUFFER_TOO_SMALL) detail::check(rc, "muon::message::encode");
        out.resize(len);
        detail::check(muon_message_encode(m_, out.data(), out.size(), &len), "muon::message::encode");
        out.resize(len);
        return out;
    }

private:
    template <class T> static std::optional<T> typed(const std::optional<value> &v) {
        if (!v) return std::nullopt;
        return muon::get<T>(*v);
    }
    static bool found(muon_result rc, const char *what) {
        if (rc == MUON_RESULT_NOT_FOUND) return false;
        detail::check(rc, what);
        return true;
    }
    const muon_message *m_ = nullptr;
};

/**
 * An AMQP message the program owns (a `muon_message`): a new one has no
 * sections but a null body. Copies are deep. Setters return the message, so
 * that they chain: `muon::message("hi").subject("greeting").ttl(5s)`.
 */
class message : public message_view {
public:
    /** An empty message (null body). */
    message() : message(make()) {}
    /** A message whose amqp-value body is `body` (see `muon::codec`). */
    template <class T, std::enable_if_t<detail::encodable_other<T, message_view>, int> = 0>
    explicit message(const T &body_) : message(make()) {
        body(body_);
    }
    /** A deep copy of a borrowed message (to keep the one `on_message` lends). */
    explicit message(message_view m) : message(adopt(copy_of(m.get()))) {}
    /** A deep copy. */
    message(const message &o) : message(adopt(copy_of(o.get()))) {}
    /** Takes `o`'s message; `o` is left empty. */
    message(message &&o) noexcept : message_view(o.own_), own_(o.own_) { o.reset_view(); }
    /** A deep copy. */
    message &operator=(const message &o) {
        if (this != &o) *this = message(o);
        return *this;
    }
    /** Takes `o`'s message. */
    message &operator=(message &&o) noexcept {
        if (this != &o) {
            muon_message_free(own_);
            own_ = o.own_;
            static_cast<message_view &>(*this) = message_view(own_);
            o.reset_view();
        }
        return *this;
    }
    ~message() { muon_message_free(own_); }

    /** Takes ownership of `m`. */
    static message adopt(muon_message *m) noexcept { return message(m, adopt_tag{}); }
    /** Gives up ownership: the caller frees the result; the message is left empty. */
    muon_message *release() noexcept {
        muon_message *m = own_;
        reset_view();
        return m;
    }
    using message_view::get;
    /** The C message, for calls that change it. */
    muon_message *get() noexcept { return own_; }
    /** Decodes a message from its AMQP encoding. */
    static message decode(const uint8_t *data, std::size_t len) {
        muon_message *m = nullptr;
        detail::check(muon_message_decode(data, len, &m), "muon::message::decode");
        return adopt(m);
    }
    /** Decodes a message from its AMQP encoding. */
    static message decode(const binary &bytes) { return decode(bytes.data(), bytes.size()); }

    using message_view::body;
    /** Sets the body to one amqp-value section holding `x` (see `muon::codec`). */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0> message &body(const T &x) {
        return set_value(muon_message_set_body, codec<std::decay_t<T>>::encode(x), "muon::message::body");
    }
    /** Sets the body to one amqp-value section holding `v`. */
    message &body(value &&v) { return set_value(muon_message_set_body, std::move(v), "muon::message::body"); }
    /** Sets the body to one data section holding `bytes`. */
    message &body_binary(const binary &bytes) {
        detail::check(muon_message_set_body_binary(own_, bytes.data(), bytes.size()),
                      "muon::message::body_binary");
        return *this;
    }
    /** Sets the body to one amqp-value section holding the string `text`. */
    message &body_string(const std::string &text) {
        detail::check(muon_message_set_body_string(own_, detail::c_str(text, "muon::message::body_string")),
                      "muon::message::body_string");
        return *this;
    }
    /** Appends a data section (replacing a body of another form). */
    message &add_body_data(const binary &bytes) {
        detail::check(muon_message_add_body_data(own_, bytes.data(), bytes.size()),
                      "muon::message::add_body_data");
        return *this;
    }
    /** Appends an amqp-sequence section holding the items of the list `items`. */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &add_body_sequence(const T &items) {
        return set_value(muon_message_add_body_sequence, codec<std::decay_t<T>>::encode(items),
                         "muon::message::add_body_sequence");
    }

    using message_view::durable;
    /** header: durable. */
    message &durable(bool on) { return check(muon_message_set_durable(own_, on), "durable"); }
    using message_view::priority;
    /** header: priority. */
    message &priority(uint8_t p) { return check(muon_message_set_priority(own_, p), "priority"); }
    using message_view::ttl;
    /** header: time to live (std::nullopt removes it; out_of_range above 2^32 - 1 ms). */
    message &ttl(std::optional<std::chrono::milliseconds> t) {
        if (!t) return check(muon_message_clear_ttl(own_), "ttl");
        if (t->count() < 0) throw error(errc::out_of_range, "muon::message::ttl");
        return check(muon_message_set_ttl(own_, static_cast<uint64_t>(t->count())), "ttl");
    }
    using message_view::first_acquirer;
    /** header: first-acquirer. */
    message &first_acquirer(bool on) {
        return check(muon_message_set_first_acquirer(own_, on), "first_acquirer");
    }
    using message_view::delivery_count;
    /** header: delivery count. */
    message &delivery_count(uint32_t n) {
        return check(muon_message_set_delivery_count(own_, n), "delivery_count");
    }

    using message_view::id;
    /** properties: message-id, a ulong, uuid, binary or string (wrong_type otherwise). */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0> message &id(const T &x) {
        return set_value(muon_message_set_id, codec<std::decay_t<T>>::encode(x), "muon::message::id");
    }
    /** Sets the message-id to `*x`, or removes it when `x` is empty. */
    template <class T> message &id(const std::optional<T> &x) { return x ? id(*x) : id(std::nullopt); }
    /** Removes the message-id. */
    message &id(std::nullopt_t) { return check(muon_message_set_id(own_, nullptr), "id"); }
    using message_view::correlation_id;
    /** properties: correlation-id, a ulong, uuid, binary or string. */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &correlation_id(const T &x) {
        return set_value(muon_message_set_correlation_id, codec<std::decay_t<T>>::encode(x),
                         "muon::message::correlation_id");
    }
    /** Sets the correlation-id to `*x`, or removes it when `x` is empty (`resp.correlation_id(req.id())`). */
    template <class T> message &correlation_id(const std::optional<T> &x) {
        return x ? correlation_id(*x) : correlation_id(std::nullopt);
    }
    /** Removes the correlation-id. */
    message &correlation_id(std::nullopt_t) {
        return check(muon_message_set_correlation_id(own_, nullptr), "correlation_id");
    }
    using message_view::user_id;
    /** properties: user-id (std::nullopt removes it). */
    message &user_id(const std::optional<binary> &b) {
        static const uint8_t none = 0;
        return check(muon_message_set_user_id(own_, b ? (b->empty() ? &none : b->data()) : nullptr,
                                              b ? b->size() : 0),
                     "user_id");
    }
    using message_view::to;
    /** properties: to (std::nullopt removes it). */
    message &to(const std::optional<std::string> &s) { return text(muon_message_set_to, s, "to"); }
    using message_view::subject;
    /** properties: subject. */
    message &subject(const std::optional<std::string> &s) {
        return text(muon_message_set_subject, s, "subject");
    }
    using message_view::reply_to;
    /** properties: reply-to. */
    message &reply_to(const std::optional<std::string> &s) {
        return text(muon_message_set_reply_to, s, "reply_to");
    }
    using message_view::content_type;
    /** properties: content-type (ASCII). */
    message &content_type(const std::optional<std::string> &s) {
        return text(muon_message_set_content_type, s, "content_type");
    }
    using message_view::content_encoding;
    /** properties: content-encoding (ASCII). */
    message &content_encoding(const std::optional<std::string> &s) {
        return text(muon_message_set_content_encoding, s, "content_encoding");
    }
    using message_view::absolute_expiry_time;
    /** properties: absolute-expiry-time. */
    message &absolute_expiry_time(std::optional<timestamp> t) {
        if (!t) return check(muon_message_clear_absolute_expiry_time(own_), "absolute_expiry_time");
        return check(muon_message_set_absolute_expiry_time(own_, t->milliseconds()), "absolute_expiry_time");
    }
    using message_view::creation_time;
    /** properties: creation-time. */
    message &creation_time(std::optional<timestamp> t) {
        if (!t) return check(muon_message_clear_creation_time(own_), "creation_time");
        return check(muon_message_set_creation_time(own_, t->milliseconds()), "creation_time");
    }
    using message_view::group_id;
    /** properties: group-id. */
    message &group_id(const std::optional<std::string> &s) {
        return text(muon_message_set_group_id, s, "group_id");
    }
    using message_view::group_sequence;
    /** properties: group-sequence. */
    message &group_sequence(std::optional<uint32_t> n) {
        if (!n) return check(muon_message_clear_group_sequence(own_), "group_sequence");
        return check(muon_message_set_group_sequence(own_, *n), "group_sequence");
    }
    using message_view::reply_to_group_id;
    /** properties: reply-to-group-id. */
    message &reply_to_group_id(const std::optional<std::string> &s) {
        return text(muon_message_set_reply_to_group_id, s, "reply_to_group_id");
    }

    using message_view::property;
    /** Sets the application property `key` (a simple value: wrong_type for a list, map, array or described). */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &property(const std::string &key, const T &x) {
        return keyed(muon_message_set_property, key, codec<std::decay_t<T>>::encode(x), "property");
    }
    using message_view::string_property;
    using message_view::long_property;
    using message_view::bool_property;
    /** Sets the application property `key` to the string `x` (no NUL inside). */
    message &string_property(const std::string &key, const std::string &x) {
        return check(muon_message_set_property_string(own_, detail::c_str(key, "muon::message::string_property"),
                                                      detail::c_str(x, "muon::message::string_property")),
                     "string_property");
    }
    /** Sets the application property `key` to the long `x`. */
    message &long_property(const std::string &key, int64_t x) {
        return check(muon_message_set_property_long(own_, detail::c_str(key, "muon::message::long_property"), x),
                     "long_property");
    }
    /** Sets the application property `key` to the boolean `x`. */
    message &bool_property(const std::string &key, bool x) {
        return check(muon_message_set_property_bool(own_, detail::c_str(key, "muon::message::bool_property"), x),
                     "bool_property");
    }
    using message_view::annotation;
    /** Sets the message annotation under the symbol `key`. */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &annotation(const std::string &key, const T &x) {
        return keyed(muon_message_set_annotation, key, codec<std::decay_t<T>>::encode(x), "annotation");
    }
    using message_view::delivery_annotation;
    /** Sets the delivery annotation under the symbol `key`. */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &delivery_annotation(const std::string &key, const T &x) {
        return keyed(muon_message_set_delivery_annotation, key, codec<std::decay_t<T>>::encode(x),
                     "delivery_annotation");
    }
    using message_view::footer;
    /** Sets the footer entry under the symbol `key`. */
    template <class T, std::enable_if_t<detail::encodable<T>, int> = 0>
    message &footer(const std::string &key, const T &x) {
        return keyed(muon_message_set_footer, key, codec<std::decay_t<T>>::encode(x), "footer");
    }

private:
    struct adopt_tag {};
    message(muon_message *m, adopt_tag) noexcept : message_view(m), own_(m) {}
    static message make() {
        muon_message *m = nullptr;
        detail::check(muon_message_new(&m), "muon::message");
        return adopt(m);
    }
    static muon_message *copy_of(const muon_message *m) {
        muon_message *out = nullptr;
        detail::check(muon_message_clone(m, &out), "muon::message (copy)");
        return out;
    }
    void reset_view() noexcept {
        own_ = nullptr;
        static_cast<message_view &>(*this) = message_view();
    }
    message &check(muon_result rc, const char *what) {
        if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), std::string("muon::message::") + what);
        return *this;
    }
    template <class F> message &set_value(F f, value v, const char *what) {
        detail::check(f(own_, v.get()), what);
        v.release();
        return *this;
    }
    template <class F>
    message &text(F f, const std::optional<std::string> &s, const char *what) {
        std::string w = std::string("muon::message::") + what;
        return check(f(own_, s ? detail::c_str(*s, w.c_str()) : nullptr), what);
    }
    template <class F> message &keyed(F f, const std::string &key, value v, const char *what) {
        std::string w = std::string("muon::message::") + what;
        detail::check(f(own_, detail::c_str(key, w.c_str()), v.get()), w.c_str());
        v.release();
        return *this;
    }
    muon_message *own_ = nullptr;
};

// ---------------------------------------------------------------- options

/**
 * Options for `muon::loop_ref::connect` and `muon::loop_ref::listen` (a
 * `muon_connection_options`): identity, TLS, SASL, limits, capabilities,
 * properties, the handshake built-in and reconnect. Setters are named as
 * the C functions without `set_` (adders keep `add_`) and return the
 * options, so that they chain; the loop copies what it needs, so options
 * may be reused or destroyed right after. A setter that loads certificates
 * or credentials throws `muon::error` whose `what()` says why it failed.
 */
class connection_options {
public:
    /** Every default. */
    connection_options() { detail::check(muon_connection_options_new(&o_), "muon::connection_options"); }
    ~connection_options() { muon_connection_options_free(o_); }
    /** Takes `o`'s options. */
    connection_options(connection_options &&o) noexcept : o_(std::exchange(o.o_, nullptr)) {}
    /** Takes `o`'s options. */
    connection_options &operator=(connection_options &&o) noexcept {
        std::swap(o_, o.o_);
        return *this;
    }
    connection_options(const connection_options &) = delete;
    connection_options &operator=(const connection_options &) = delete;
    /** The C options. */
    const muon_connection_options *get() const noexcept { return o_; }
    /** The C options, for calls that change them. */
    muon_connection_options *get() noexcept { return o_; }
    /** Why the last setter that loads certificates or credentials failed, if it did. */
    std::optional<std::string> error() const {
        return detail::opt_string(muon_connection_options_error(o_));
    }

    /** The container id sent in `open`. */
    connection_options &container_id(const std::string &id) { return str(muon_connection_options_set_container_id, id, "container_id"); }
    /** The hostname sent in `open` and checked in the server's certificate. */
    connection_options &hostname(const std::string &h) { return str(muon_connection_options_set_hostname, h, "hostname"); }
    /** The SASL mechanisms allowed, space-separated. */
    connection_options &sasl_mechanisms(const std::string &m) { return str(muon_connection_options_set_sasl_mechanisms, m, "sasl_mechanisms"); }
    /** The SASL user name. */
    connection_options &user(const std::string &u) { return str(muon_connection_options_set_user, u, "user"); }
    /** The SASL password. */
    connection_options &password(const std::string &p) { return str(muon_connection_options_set_password, p, "password"); }
    /** The XOAUTH2 bearer token. */
    connection_options &token(const std::string &t) { return str(muon_connection_options_set_token, t, "token"); }
    /** Allows SASL PLAIN (and XOAUTH2) without TLS. */
    connection_options &allow_insecure_plain(bool on = true) { return flag(muon_connection_options_set_allow_insecure_plain, on, "allow_insecure_plain"); }
    /** Turns SASL on or off (default on). */
    connection_options &sasl_enabled(bool on) { return flag(muon_connection_options_set_sasl_enabled, on, "sasl_enabled"); }
    /** The largest frame accepted (at least 512). */
    connection_options &max_frame_size(uint32_t size) { return check(muon_connection_options_set_max_frame_size(o_, size), "max_frame_size"); }
    /** The highest channel number. */
    connection_options &channel_max(uint16_t n) { return check(muon_connection_options_set_channel_max(o_, n), "channel_max"); }
    /** How long the peer may stay silent (0: no limit). */
    connection_options &idle_timeout(std::chrono::milliseconds t) { return check(muon_connection_options_set_idle_timeout(o_, ms(t)), "idle_timeout"); }
    /** How many links one session may have. */
    connection_options &max_links_per_session(uint32_t max) { return check(muon_connection_options_set_max_links_per_session(o_, max), "max_links_per_session"); }
    /** How many unsettled deliveries one link may have. */
    connection_options &max_unsettled_per_link(uint32_t max) { return check(muon_connection_options_set_max_unsettled_per_link(o_, max), "max_unsettled_per_link"); }
    /** How many bytes of incomplete (multi-frame) messages a connection may hold. */
    connection_options &max_incomplete_bytes(uint64_t max) { return check(muon_connection_options_set_max_incomplete_bytes(o_, max), "max_incomplete_bytes"); }
    /** How deeply nested a received value may be. */
    connection_options &max_decode_depth(uint32_t depth) { return check(muon_connection_options_set_max_decode_depth(o_, depth), "max_decode_depth"); }
    /** How long a connection has to get the peer's `open` (0: no limit). */
    connection_options &handshake_timeout(std::chrono::milliseconds t) { return check(muon_connection_options_set_handshake_timeout(o_, ms(t)), "handshake_timeout"); }
    /** Adds a capability offered in `open`. */
    connection_options &add_offered_capability(const std::string &c) { return str(muon_connection_options_add_offered_capability, c, "add_offered_capability"); }
    /** Adds a capability desired in `open`. */
    connection_options &add_desired_capability(const std::string &c) { return str(muon_connection_options_add_desired_capability, c, "add_desired_capability"); }
    /** The properties sent in `open`: a map with symbol keys. */
    connection_options &properties(const value &map) { return check(muon_connection_options_set_properties(o_, map.get()), "properties"); }
    /** The handshake built-in (default on). */
    connection_options &handshake(bool on) { return flag(muon_connection_options_set_handshake, on, "handshake"); }
    /** Adds a URL for the built-in reconnect to rotate through. */
    connection_options &add_failover_url(const std::string &url) { return str(muon_connection_options_add_failover_url, url, "add_failover_url"); }
    /** Follows the peer's connection and link redirects (default off; see `muon_connection_options_set_follow_redirect`). */
    connection_options &follow_redirect(bool on = true) { return flag(muon_connection_options_set_follow_redirect, on, "follow_redirect"); }
    /** Turns on the built-in reconnect (initial 0: off; max 0: 10 s; attempts 0: no limit). */
    connection_options &reconnect(std::chrono::milliseconds initial, std::chrono::milliseconds max = std::chrono::milliseconds(0), uint32_t max_attempts = 0) {
        return check(muon_connection_options_set_reconnect(o_, ms(initial), ms(max), max_attempts), "reconnect");
    }
    /** Listener: adds a user with a password (SCRAM credentials are derived from it). */
    connection_options &add_user(const std::string &u, const std::string &p) {
        return loaded(muon_connection_options_add_user(o_, c(u), c(p)), "add_user");
    }
    /** Listener: adds a user with stored SCRAM credentials (`muon::scram_hash_password`). */
    connection_options &add_user_scram(const std::string &u, const std::string &credentials) {
        return loaded(muon_connection_options_add_user_scram(o_, c(u), c(credentials)), "add_user_scram");
    }
    /** Listener: keeps offering ANONYMOUS beside users or the callback. */
    connection_options &allow_anonymous(bool on = true) { return flag(muon_connection_options_set_allow_anonymous, on, "allow_anonymous"); }
    /** Listener: binds with `SO_REUSEPORT`, so that listeners of several loops (one per thread) share the port. */
    connection_options &reuse_port(bool on = true) { return flag(muon_connection_options_set_reuse_port, on, "reuse_port"); }
    /** Listener: logins are decided in `on_sasl_authenticate`. */
    connection_options &authenticate_callback(bool on = true) { return flag(muon_connection_options_set_authenticate_callback, on, "authenticate_callback"); }
    /** Adds the CA certificates of a PEM file to those trusted. */
    connection_options &add_tls_ca_file(const std::string &path) { return loaded(muon_connection_options_add_tls_ca_file(o_, c(path)), "add_tls_ca_file"); }
    /** Adds CA certificates from PEM text. */
    connection_options &add_tls_ca_pem(std::string_view pem) {
        return loaded(muon_connection_options_add_tls_ca_pem(o_, bytes(pem), pem.size()), "add_tls_ca_pem");
    }
    /** Whether the platform's trust store is used (default true). */
    connection_options &tls_system_trust(bool on) { return flag(muon_connection_options_set_tls_system_trust, on, "tls_system_trust"); }
    /** This side's certificate chain and key, from PEM files. */
    connection_options &tls_cert_file(const std::string &cert, const std::string &key) {
        return loaded(muon_connection_options_set_tls_cert_file(o_, c(cert), c(key)), "tls_cert_file");
    }
    /** This side's certificate chain and key, from PEM text. */
    connection_options &tls_cert_pem(std::string_view cert, std::string_view key) {
        return loaded(muon_connection_options_set_tls_cert_pem(o_, bytes(cert), cert.size(), bytes(key), key.size()), "tls_cert_pem");
    }
    /** INSECURE, for tests: does not verify the server. */
    connection_options &tls_insecure_skip_verify(bool on) { return flag(muon_connection_options_set_tls_insecure_skip_verify, on, "tls_insecure_skip_verify"); }
    /** Listener: verifies client certificates against the CAs of a PEM file. */
    connection_options &add_tls_client_ca_file(const std::string &path) { return loaded(muon_connection_options_add_tls_client_ca_file(o_, c(path)), "add_tls_client_ca_file"); }
    /** Listener: refuses TLS clients without a verified certificate. */
    connection_options &tls_require_client_cert(bool on) { return flag(muon_connection_options_set_tls_require_client_cert, on, "tls_require_client_cert"); }
    /** INSECURE: a TLS listener also accepts plain AMQP. */
    connection_options &tls_insecure_allow_plain(bool on) { return flag(muon_connection_options_set_tls_insecure_allow_plain, on, "tls_insecure_allow_plain"); }

private:
    static uint64_t ms(std::chrono::milliseconds t) { return t.count() < 0 ? 0 : static_cast<uint64_t>(t.count()); }
    static const uint8_t *bytes(std::string_view s) { return reinterpret_cast<const uint8_t *>(s.data()); }
    static const char *c(const std::string &s) { return detail::c_str(s, "muon::connection_options"); }
    connection_options &check(muon_result rc, const char *what) {
        if (rc != MUON_RESULT_OK) throw muon::error(static_cast<errc>(rc), std::string("muon::connection_options::") + what);
        return *this;
    }
    connection_options &loaded(muon_result rc, const char *what) {
        if (rc != MUON_RESULT_OK) {
            const char *why = muon_connection_options_error(o_);
            throw muon::error(static_cast<errc>(rc), std::string("muon::connection_options::") + what + (why ? std::string(": ") + why : std::string()));
        }
        return *this;
    }
    template <class F> connection_options &str(F f, const std::string &s, const char *what) { return check(f(o_, c(s)), what); }
    template <class F> connection_options &flag(F f, bool on, const char *what) { return check(f(o_, on), what); }
    muon_connection_options *o_ = nullptr;
};

/**
 * Options for `muon::connection::open_sender` and `open_receiver` (a
 * `muon_link_options`): the link name, terminus fields, delivery mode,
 * properties, capabilities and the built-ins. Setters chain; opening a
 * link copies what it needs.
 */
class link_options {
public:
    /** Every default (credit window 10, auto-accept, auto-settle, handshake on). */
    link_options() { detail::check(muon_link_options_new(&o_), "muon::link_options"); }
    ~link_options() { muon_link_options_free(o_); }
    /** Takes `o`'s options. */
    link_options(link_options &&o) noexcept : o_(std::exchange(o.o_, nullptr)) {}
    /** Takes `o`'s options. */
    link_options &operator=(link_options &&o) noexcept {
        std::swap(o_, o.o_);
        return *this;
    }
    link_options(const link_options &) = delete;
    link_options &operator=(const link_options &) = delete;
    /** The C options. */
    const muon_link_options *get() const noexcept { return o_; }
    /** The C options, for calls that change them. */
    muon_link_options *get() noexcept { return o_; }

    /** The link name (default: a unique one). */
    link_options &name(const std::string &n) { return str(muon_link_options_set_name, n, "name"); }
    /** Asks the peer for a dynamic node. */
    link_options &dynamic(bool on = true) { return flag(muon_link_options_set_dynamic, on, "dynamic"); }
    /** Receivers: the credit window built-in (0: off). */
    link_options &credit_window(uint32_t window) { return check(muon_link_options_set_credit_window(o_, window), "credit_window"); }
    /** Receivers: accept each message when `on_message` returns (default on). */
    link_options &auto_accept(bool on) { return flag(muon_link_options_set_auto_accept, on, "auto_accept"); }
    /** Senders: settle once the peer gave an outcome (default on). */
    link_options &auto_settle(bool on) { return flag(muon_link_options_set_auto_settle, on, "auto_settle"); }
    /** The handshake built-in for this link (default on). */
    link_options &handshake(bool on) { return flag(muon_link_options_set_handshake, on, "handshake"); }
    /** Senders: how many messages may wait for credit (default 1024; 0: none). */
    link_options &max_queued(uint32_t max) { return check(muon_link_options_set_max_queued(o_, max), "max_queued"); }
    /** Send (or ask for) every message settled: at-most-once. */
    link_options &presettled(bool on = true) { return flag(muon_link_options_set_presettled, on, "presettled"); }
    /** The durability of the terminus this side attaches with. */
    link_options &durability(muon::durability d) {
        return check(muon_link_options_set_durability(o_, static_cast<muon_durability>(d)), "durability");
    }
    /** Receivers: the source's distribution mode, `move` or `copy`. */
    link_options &distribution_mode(const std::string &mode) { return str(muon_link_options_set_distribution_mode, mode, "distribution_mode"); }
    /** Adds a terminus capability (e.g. `queue`). */
    link_options &add_capability(const std::string &c) { return str(muon_link_options_add_capability, c, "add_capability"); }
    /** Adds a capability offered in `attach`. */
    link_options &add_offered_capability(const std::string &c) { return str(muon_link_options_add_offered_capability, c, "add_offered_capability"); }
    /** Adds a capability desired in `attach`. */
    link_options &add_desired_capability(const std::string &c) { return str(muon_link_options_add_desired_capability, c, "add_desired_capability"); }
    /** The link properties: a map with symbol keys. */
    link_options &properties(const value &map) { return check(muon_link_options_set_properties(o_, map.get()), "properties"); }
    /** When the terminus this side attaches with starts its expiry timer. */
    link_options &expiry_policy(muon::expiry_policy p) {
        return check(muon_link_options_set_expiry_policy(o_, static_cast<muon_expiry_policy>(p)), "expiry_policy");
    }
    /** How long the terminus lives once its expiry timer started (whole seconds on the wire). */
    link_options &timeout(std::chrono::milliseconds t) {
        return check(muon_link_options_set_timeout_ms(o_, static_cast<uint64_t>(std::max<int64_t>(t.count(), 0))), "timeout");
    }
    /** Receivers: the source's filter set, a map with symbol keys. */
    link_options &filter(const value &map) { return check(muon_link_options_set_filter(o_, map.get()), "filter"); }
    /** Receivers: a JMS-style selector, sent as the source's `apache.org:selector-filter:string`. */
    link_options &selector(const std::string &s) { return str(muon_link_options_set_selector, s, "selector"); }
    /** Receivers: rcv-settle-mode second (a delivery settles only after the sender settled it). */
    link_options &rcv_settle_second(bool on = true) { return flag(muon_link_options_set_rcv_settle_second, on, "rcv_settle_second"); }
    /** The largest message this side accepts (0: no limit). */
    link_options &max_message_size(uint64_t bytes) { return check(muon_link_options_set_max_message_size(o_, bytes), "max_message_size"); }

private:
    link_options &check(muon_result rc, const char *what) {
        if (rc != MUON_RESULT_OK) throw muon::error(static_cast<errc>(rc), std::string("muon::link_options::") + what);
        return *this;
    }
    template <class F> link_options &str(F f, const std::string &s, const char *what) {
        return check(f(o_, detail::c_str(s, "muon::link_options")), what);
    }
    template <class F> link_options &flag(F f, bool on, const char *what) { return check(f(o_, on), what); }
    muon_link_options *o_ = nullptr;
};

/**
 * SCRAM credentials of `password` for `mechanism` (`SCRAM-SHA-256`,
 * `SCRAM-SHA-512` or `SCRAM-SHA-1`), with a random salt and `iterations`
 * (0: 4096): the line `muon::connection_options::add_user_scram` takes.
 */
inline std::string scram_hash_password(const std::string &mechanism, const std::string &password,
                                       uint32_t iterations = 0) {
    std::string out(256, '\0');
    std::size_t len = 0;
    const char *m = detail::c_str(mechanism, "muon::scram_hash_password");
    const char *p = detail::c_str(password, "muon::scram_hash_password");
    muon_result rc = muon_scram_hash_password(m, p, iterations, &out[0], out.size(), &len);
    if (rc == MUON_RESULT_BUFFER_TOO_SMALL) {
        out.assign(len, '\0');
        rc = muon_scram_hash_password(m, p, iterations, &out[0], out.size(), &len);
    }
    detail::check(rc, "muon::scram_hash_password");
    out.resize(len);
    return out;
}

// ------------------------------------------------------------------ URLs

/**
 * Why the last failed `muon::url` parse, `loop::connect` or `loop::listen`
 * on this thread failed, in one line naming what was wrong (the part of a
 * bad URL, the TLS file, the address in use); std::nullopt when the last of
 * those succeeded, or none was made. A password in a quoted URL shows as `***`.
 */
inline std::optional<std::string> last_error() { return detail::opt_string(muon_last_error()); }

/** What a process-wide log callback gets (`muon::set_log_callback`). */
using log_callback = std::function<void(muon_log_level, muon_log_category, std::string_view message)>;

/// @cond DETAIL
namespace detail {
inline void run_process_log(void *context, muon_log_level level, muon_log_category category,
                            const char *message) noexcept {
    try {
        (*static_cast<log_callback *>(context))(level, category, std::string_view(message));
    } catch (...) {
        // A log line is not worth ending the program for.
    }
}
inline std::unique_ptr<log_callback> &process_log() {
    static std::unique_ptr<log_callback> f;
    return f;
}
} // namespace detail
/// @endcond

/**
 * Sends muon's log messages to `f` (empty: back to standard error); see
 * `muon_set_log_callback`. `f` may be called on any thread that runs a
 * loop; an exception it throws is dropped. Not to be called from `f`.
 */
inline void set_log_callback(log_callback f) {
    auto &kept = detail::process_log();
    if (!f) {
        detail::check(muon_set_log_callback(nullptr, nullptr), "muon::set_log_callback");
        kept.reset(); // no longer called once muon_set_log_callback returned
        return;
    }
    auto box = std::make_unique<log_callback>(std::move(f));
    detail::check(muon_set_log_callback(&detail::run_process_log, box.get()), "muon::set_log_callback");
    kept = std::move(box);
}

/** Chooses the log's levels and categories (`muon_set_log_level`, `MUON_LOG`'s syntax). */
inline void set_log_level(const std::string &spec) {
    muon_result rc = muon_set_log_level(detail::c_str(spec, "muon::set_log_level"));
    if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), last_error().value_or("muon::set_log_level"));
}

/** How many times `signum` has arrived (`muon_signal_count`). */
inline std::uint64_t signal_count(int signum) noexcept { return muon_signal_count(signum); }

/**
 * A parsed `[amqp://|amqps://][user[:password]@]host[:port][/address]` (a
 * `muon_url`), as `loop::connect` and `loop::listen` read it. Move-only.
 */
class url {
public:
    /** Parses `text`; throws `muon::error` (invalid_argument) whose `what()` is `muon::last_error()`. */
    explicit url(const std::string &text) {
        muon_result rc = muon_url_parse(detail::c_str(text, "muon::url"), &u_);
        if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), last_error().value_or("muon::url"));
    }
    ~url() { muon_url_free(u_); }
    /** Takes `o`'s URL. */
    url(url &&o) noexcept : u_(std::exchange(o.u_, nullptr)) {}
    /** Takes `o`'s URL. */
    url &operator=(url &&o) noexcept {
        std::swap(u_, o.u_);
        return *this;
    }
    url(const url &) = delete;
    url &operator=(const url &) = delete;
    /** The C URL. */
    const muon_url *get() const noexcept { return u_; }
    /** `amqp` or `amqps` (`amqp` when the text had no scheme). */
    std::string scheme() const { return muon_url_scheme(u_); }
    /** The user, if the URL names one. */
    std::optional<std::string> user() const { return detail::opt_string(muon_url_user(u_)); }
    /** The password, if the URL has one. */
    std::optional<std::string> password() const { return detail::opt_string(muon_url_password(u_)); }
    /** The host. */
    std::string host() const { return muon_url_host(u_); }
    /** The port (the scheme's default when the text had none). */
    uint16_t port() const noexcept { return muon_url_port(u_); }
    /** The address (the path after the first `/`), "" if none. */
    std::string address() const { return muon_url_address(u_); }
    /** `scheme://host:port`, without user or password. */
    std::string origin() const { return muon_url_origin(u_); }

private:
    muon_url *u_ = nullptr;
};

/**
 * A parsed JMS message selector (a `muon_selector`; the subset and the
 * mapping of JMS header names are in muon.h), for a server that applies a
 * receiver's `apache.org:selector-filter:string` filter. Move-only.
 */
class selector {
public:
    /** Parses `text`; throws `muon::error` (invalid_argument) whose `what()` is `muon::last_error()` (where and why). */
    explicit selector(const std::string &text) {
        check(muon_selector_new(text.data(), text.size(), &s_), "muon::selector");
    }
    /**
     * The selector in a receiver's filter set (`terminus::filter()`, any
     * key, by symbol or numeric descriptor); std::nullopt when it has
     * none. Throws `muon::error` when it is not a string or not supported.
     */
    static std::optional<selector> from_filter(value_view filter) {
        muon_selector *s = nullptr;
        muon_result rc = muon_selector_from_filter(filter.get(), &s);
        if (rc == MUON_RESULT_NOT_FOUND || rc == MUON_RESULT_NULL_ARGUMENT) return std::nullopt;
        selector out;
        out.s_ = s;
        out.check(rc, "muon::selector::from_filter");
        return out;
    }
    ~selector() { muon_selector_free(s_); }
    /** Takes `o`'s selector. */
    selector(selector &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    /** Takes `o`'s selector. */
    selector &operator=(selector &&o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    selector(const selector &) = delete;
    selector &operator=(const selector &) = delete;
    /** True when `m` matches (false for false and for unknown). */
    bool matches(message_view m) const {
        bool yes = false;
        muon_result rc = muon_selector_matches(s_, m.get(), &yes);
        if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), "muon::selector::matches");
        return yes;
    }
    /** The selector's text. */
    std::string text() const { return muon_selector_text(s_); }
    /** The filter set to answer with (`muon_sender_set_source_filter`); valid as long as this selector. */
    value_view filter() const noexcept { return value_view(muon_selector_filter(s_)); }
    /** The C selector. */
    const muon_selector *get() const noexcept { return s_; }

private:
    selector() = default;
    void check(muon_result rc, const char *what) const {
        if (rc != MUON_RESULT_OK) throw error(static_cast<errc>(rc), last_error().value_or(what));
    }
    muon_selector *s_ = nullptr;
};

// --------------------------------------------------------------- handles

class loop_ref;
class connection;
class sender;
class receiver;
class delivery;
class listener;
class timer;
class transaction;

/**
 * What a callback is handed: the kind of event and the objects it concerns
 * (handles not concerned are null handles). Valid until the callback
 * returns, like the message and condition it lends.
 */
class event {
public:
    /** The event `e`. */
    explicit event(const muon_event *e) noexcept : e_(e) {}
    /** The C event. */
    const muon_event *get() const noexcept { return e_; }
    /** What happened. */
    event_kind kind() const noexcept { return static_cast<event_kind>(muon_event_get_kind(e_)); }
    /** The loop the event comes from. */
    muon::loop_ref loop() const noexcept;
    /** The connection it concerns (every link, delivery, message and connection event has one). */
    muon::connection connection() const noexcept;
    /** The sender it concerns (a null handle if the link is a receiver). */
    muon::sender sender() const noexcept;
    /** The receiver it concerns (a null handle if the link is a sender). */
    muon::receiver receiver() const noexcept;
    /** True if the event's link is a receiver. */
    bool is_receiver() const noexcept { return muon_event_is_receiver(e_); }
    /** The delivery of a message or outcome event. */
    muon::delivery delivery() const noexcept;
    /** The listener of a listener event. */
    muon::listener listener() const noexcept;
    /** The timer that fired (already stale: use it to tell timers apart). */
    muon::timer timer() const noexcept;
    /** The message of `on_message` (or an unsent one handed back by `on_released`); empty otherwise. */
    message_view message() const noexcept { return message_view(muon_event_message(e_)); }
    /** The error condition, for the events that may have one. */
    std::optional<muon::condition> condition() const { return condition::from(muon_event_condition(e_)); }
    /** The transaction of a transaction event (declared, discharged, failed). */
    muon::transaction transaction() const noexcept;
    /** The id of the transaction the event concerns (coordinator and transaction events). */
    binary transaction_id() const {
        binary id(32);
        id.resize(std::min<std::size_t>(muon_event_transaction_id(e_, id.data(), id.size()), id.size()));
        return id;
    }
    /** True when the discharge the event concerns is a rollback. */
    bool transaction_rollback() const noexcept { return muon_event_transaction_rollback(e_); }

private:
    const muon_event *e_;
};

/**
 * The base class of handlers: override the events you need; each is named
 * as the C callback table's member. Registered on an object (a loop's
 * default, a connection, a listener, a link, a timer), it receives every
 * event of that object, and of its children that have no handler of their
 * own; what you do not override does nothing (the built-ins still run). It
 * is borrowed: keep it alive until the object's final event, or register a
 * `std::shared_ptr` to it. An exception thrown here stops the loop and comes
 * out of `muon::loop_ref::run()`.
 */
class messaging_handler {
public:
    virtual ~messaging_handler() = default;
    /** The peer opened the connection. */
    virtual void on_connection_remote_open(event &) {}
    /** The peer closed the connection (`e.condition()`: its error, if any). */
    virtual void on_connection_remote_close(event &) {}
    /** The peer began a session. */
    virtual void on_session_remote_open(event &) {}
    /** The peer ended a session. */
    virtual void on_session_remote_close(event &) {}
    /** The peer attached a new link, before it is opened here. */
    virtual void on_link_remote_attach(event &) {}
    /** The peer opened a link. */
    virtual void on_link_remote_open(event &) {}
    /** The peer closed a link (`e.condition()`: its error, if any). */
    virtual void on_link_remote_close(event &) {}
    /** A sender has credit (and an empty queue), or a receiver's drain ended. */
    virtual void on_link_flow(event &) {}
    /** A message arrived (`e.message()`, borrowed for the call). */
    virtual void on_message(event &) {}
    /** The peer accepted a delivery. */
    virtual void on_accepted(event &) {}
    /** The peer rejected a delivery. */
    virtual void on_rejected(event &) {}
    /** The peer released a delivery, or an unsent message is handed back. */
    virtual void on_released(event &) {}
    /** The peer modified a delivery. */
    virtual void on_modified(event &) {}
    /** A delivery was settled. */
    virtual void on_settled(event &) {}
    /** The transport ended without a completed close: `e.condition()` says why. */
    virtual void on_disconnected(event &) {}
    /** The built-in reconnect got a new transport. */
    virtual void on_reconnected(event &) {}
    /** A timer fired. */
    virtual void on_timer(event &) {}
    /** A listener is bound and accepting. */
    virtual void on_listener_open(event &) {}
    /** A listener accepted a connection. */
    virtual void on_connection_accepted(event &) {}
    /** `wake()` was called (loop default handler only). */
    virtual void on_wake(event &) {}
    /** A link is gone; its handle is stale after this call. */
    virtual void on_link_final(event &) {}
    /** A connection is gone; its handle is stale after this call. */
    virtual void on_connection_final(event &) {}
    /** A listener is closed; its handle is stale after this call. */
    virtual void on_listener_final(event &) {}
    /** A client is logging in to a listener that decides logins itself. */
    virtual void on_sasl_authenticate(event &) {}
    /** A message arrived that could not be decoded (`e.condition()` says what). */
    virtual void on_message_error(event &) {}
    /** A transaction this side declared is ready (`e.transaction()`). */
    virtual void on_transaction_declared(event &) {}
    /** A transaction was committed or rolled back; its final event. */
    virtual void on_transaction_discharged(event &) {}
    /** A transaction failed (`e.condition()` says why); its final event. */
    virtual void on_transaction_failed(event &) {}
    /** Server side: a controller asks to declare a transaction (answer with `delivery::declared`). */
    virtual void on_coordinator_declare(event &) {}
    /** Server side: a controller asks to discharge `e.transaction_id()` (accept or reject the delivery). */
    virtual void on_coordinator_discharge(event &) {}
};

/**
 * A handler made of functions, one per event, named as the C callback
 * table's members: `h.on_message = [&](muon::event &e) { ... };`. It is
 * copied when registered. Unlike a `muon::messaging_handler`, it receives
 * only the events it has a function for; the others go on to the next
 * handler (the link's, its connection's, then the loop's default), as with
 * a C table.
 */
struct handler {
    using function = std::function<void(event &)>; ///< What each member holds.
    function on_connection_remote_open;  ///< The peer opened the connection.
    function on_connection_remote_close; ///< The peer closed the connection.
    function on_session_remote_open;     ///< The peer began a session.
    function on_session_remote_close;    ///< The peer ended a session.
    function on_link_remote_attach;      ///< The peer attached a new link.
    function on_link_remote_open;        ///< The peer opened a link.
    function on_link_remote_close;       ///< The peer closed a link.
    function on_link_flow;               ///< A sender has credit, or a drain ended.
    function on_message;                 ///< A message arrived.
    function on_accepted;                ///< The peer accepted a delivery.
    function on_rejected;                ///< The peer rejected a delivery.
    function on_released;                ///< The peer released a delivery (or one is handed back).
    function on_modified;                ///< The peer modified a delivery.
    function on_settled;                 ///< A delivery was settled.
    function on_disconnected;            ///< The transport ended without a completed close.
    function on_reconnected;             ///< The built-in reconnect got a new transport.
    function on_timer;                   ///< A timer fired.
    function on_listener_open;           ///< A listener is accepting.
    function on_connection_accepted;     ///< A listener accepted a connection.
    function on_wake;                    ///< `wake()` was called.
    function on_link_final;              ///< A link is gone.
    function on_connection_final;        ///< A connection is gone.
    function on_listener_final;          ///< A listener is closed.
    function on_sasl_authenticate;       ///< A client is logging in.
    function on_message_error;           ///< A message could not be decoded.
    function on_transaction_declared;    ///< A transaction is ready.
    function on_transaction_discharged;  ///< A transaction was committed or rolled back.
    function on_transaction_failed;      ///< A transaction failed.
    function on_coordinator_declare;     ///< A controller asks to declare a transaction.
    function on_coordinator_discharge;   ///< A controller asks to discharge a transaction.
};

/// @cond MUON_INTERNAL
#define MUON_HPP_EVENTS(X)                                                                         \
    X(on_connection_remote_open) X(on_connection_remote_close) X(on_session_remote_open)           \
    X(on_session_remote_close) X(on_link_remote_attach) X(on_link_remote_open)                     \
    X(on_link_remote_close) X(on_link_flow) X(on_message) X(on_accepted) X(on_rejected)            \
    X(on_released) X(on_modified) X(on_settled) X(on_disconnected) X(on_reconnected) X(on_timer)   \
    X(on_listener_open) X(on_connection_accepted) X(on_wake) X(on_link_final)                      \
    X(on_connection_final) X(on_listener_final) X(on_sasl_authenticate) X(on_message_error)      \
    X(on_transaction_declared) X(on_transaction_discharged) X(on_transaction_failed)               \
    X(on_coordinator_declare) X(on_coordinator_discharge)

namespace detail {
// The first exception a callback threw, per loop, until run() rethrows it.
// Callbacks run on the loop's thread, inside run(), so the list is the
// thread's own.
struct loop_error {
    muon_loop *loop;
    std::exception_ptr error;
};
inline std::vector<loop_error> &loop_errors() {
    thread_local std::vector<loop_error> errors;
    return errors;
}
/** Called in a catch block: keeps the exception (the first per loop) and stops the loop. */
inline void keep_error(muon_loop *lp) noexcept {
    auto &errors = loop_errors();
    bool first = true;
    for (const auto &e : errors) first = first && e.loop != lp;
    if (first) {
        try {
            errors.push_back(loop_error{lp, std::current_exception()});
        } catch (...) {
            std::terminate(); // out of memory while keeping an exception
        }
    }
    if (lp != nullptr) (void)muon_loop_stop(lp);
}
/** Rethrows the exception a callback of `lp` threw, if any. */
inline void rethrow_error(muon_loop *lp) {
    auto &errors = loop_errors();
    for (auto it = errors.begin(); it != errors.end(); ++it) {
        if (it->loop == lp) {
            std::exception_ptr e = it->error;
            errors.erase(it);
            std::rethrow_exception(e);
        }
    }
}
inline void forget_errors(muon_loop *lp) noexcept {
    auto &errors = loop_errors();
    for (auto it = errors.begin(); it != errors.end();) {
        it = it->loop == lp ? errors.erase(it) : it + 1;
    }
}
/** Runs `f`; an exception is kept for run() and stops the loop: it never reaches C. */
template <class F> void guarded(muon_loop *lp, F &&f) noexcept {
    try {
        f();
    } catch (...) {
        keep_error(lp);
    }
}

struct borrowed_target {
    static messaging_handler *get(void *ud) noexcept { return static_cast<messaging_handler *>(ud); }
};
struct shared_target {
    static messaging_handler *get(void *ud) noexcept {
        return static_cast<std::shared_ptr<messaging_handler> *>(ud)->get();
    }
};
template <class Target, void (messaging_handler::*M)(event &)>
void call_member(void *ud, const muon_event *ev) noexcept {
    try {
        event e(ev);
        (Target::get(ud)->*M)(e);
    } catch (...) {
        keep_error(muon_event_loop(ev));
    }
}
template <handler::function handler::*F> void call_function(void *ud, const muon_event *ev) noexcept {
    try {
        event e(ev);
        (static_cast<handler *>(ud)->*F)(e);
    } catch (...) {
        keep_error(muon_event_loop(ev));
    }
}
inline void free_shared(void *ud) noexcept { delete static_cast<std::shared_ptr<messaging_handler> *>(ud); }
inline void free_handler(void *ud) noexcept { delete static_cast<handler *>(ud); }
template <class Target> muon_handler member_table(muon_userdata_free free) noexcept {
    muon_handler t = MUON_HANDLER_INIT;
#define MUON_HPP_SET(name) t.name = &call_member<Target, &messaging_handler::name>;
    MUON_HPP_EVENTS(MUON_HPP_SET)
#undef MUON_HPP_SET
    t.userdata_free = free;
    return t;
}
inline muon_handler function_table(const handler &h) noexcept {
    muon_handler t = MUON_HANDLER_INIT;
#define MUON_HPP_SET(name) if (h.name) t.name = &call_function<&handler::name>;
    MUON_HPP_EVENTS(MUON_HPP_SET)
#undef MUON_HPP_SET
    t.userdata_free = &free_handler;
    return t;
}
} // namespace detail
/// @endcond

/**
 * What a handler parameter takes: a `muon::messaging_handler` (borrowed: it
 * must outlive the object), a `std::shared_ptr` to one (shared with the
 * loop until the object's final event), a `muon::handler` (copied), or
 * nothing (`{}` or nullptr: the next handler gets the events).
 */
class handler_binding {
public:
    /** No handler. */
    handler_binding() noexcept = default;
    /** No handler. */
    handler_binding(std::nullptr_t) noexcept {}
    /** A borrowed messaging_handler. */
    handler_binding(messaging_handler &h) noexcept
        : table_(detail::member_table<detail::borrowed_target>(nullptr)), ud_(&h), set_(true) {}
    /** A shared messaging_handler (nullptr: no handler). */
    handler_binding(std::shared_ptr<messaging_handler> h) {
        if (!h) return;
        table_ = detail::member_table<detail::shared_target>(&detail::free_shared);
        ud_ = new std::shared_ptr<messaging_handler>(std::move(h));
        set_ = true;
    }
    /** A copy of a table of functions. */
    handler_binding(handler h)
        : table_(detail::function_table(h)), ud_(new handler(std::move(h))), set_(true) {}
    /** Takes `o`'s handler. */
    handler_binding(handler_binding &&o) noexcept
        : table_(o.table_), ud_(std::exchange(o.ud_, nullptr)), set_(std::exchange(o.set_, false)) {}
    handler_binding(const handler_binding &) = delete;
    handler_binding &operator=(const handler_binding &) = delete;
    handler_binding &operator=(handler_binding &&) = delete;
    /** Frees what was copied, unless the loop took it. */
    ~handler_binding() {
        if (set_ && table_.userdata_free != nullptr) table_.userdata_free(ud_);
    }
    /** The C table (NULL for no handler). */
    const muon_handler *table() const noexcept { return set_ ? &table_ : nullptr; }
    /** The table's userdata. */
    void *userdata() const noexcept { return ud_; }
    /** After a successful registration: the loop owns the userdata now. */
    void release() noexcept { set_ = false; }

private:
    muon_handler table_{};
    void *ud_ = nullptr;
    bool set_ = false;
};

/**
 * An incoming or outgoing message in transit (a `muon_delivery` handle),
 * valid until it is settled here or its link ends.
 */
class delivery {
public:
    /** The null handle. */
    delivery() noexcept = default;
    /** The handle `h`. */
    explicit delivery(muon_delivery h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_delivery &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /** Accepts and settles an incoming delivery. */
    void accept() { detail::check(muon_delivery_accept(h_), "muon::delivery::accept"); }
    /** Rejects and settles it, without a condition. */
    void reject() { detail::check(muon_delivery_reject(h_, nullptr, nullptr), "muon::delivery::reject"); }
    /** Rejects and settles it with the condition `name` (and `description`). */
    void reject(const std::string &name, const std::string &description = {}) {
        detail::check(muon_delivery_reject(h_, detail::c_str(name, "muon::delivery::reject"),
                                           detail::c_str(description, "muon::delivery::reject")),
                      "muon::delivery::reject");
    }
    /** Releases and settles it: it may be delivered again, to anyone. */
    void release() { detail::check(muon_delivery_release(h_), "muon::delivery::release"); }
    /** Modifies and settles it. */
    void modify(bool failed, bool undeliverable_here) {
        detail::check(muon_delivery_modify(h_, failed, undeliverable_here), "muon::delivery::modify");
    }
    /** Settles it without an outcome. */
    void settle() { detail::check(muon_delivery_settle(h_), "muon::delivery::settle"); }
    /** The outcome the peer gave it. */
    delivery_state remote_state() const noexcept {
        return static_cast<delivery_state>(muon_delivery_remote_state(h_));
    }
    /** True if the peer settled it. */
    bool remote_settled() const noexcept { return muon_delivery_is_remote_settled(h_); }
    /** Its transfer's message format: 0 for an AMQP message (see `sender::send_with`). */
    uint32_t message_format() const noexcept { return muon_delivery_message_format(h_); }
    /** Its tag (empty for a stale handle). */
    binary tag() const {
        binary t(32);
        t.resize(std::min<std::size_t>(muon_delivery_tag(h_, t.data(), t.size()), t.size()));
        return t;
    }
    /** Accepts and settles an incoming delivery in transaction `t` (it takes effect on commit). */
    void accept_in(const muon::transaction &t);
    /** Server side: answers a declare request, naming the new transaction `id` (1 to 32 bytes). */
    void declared(const binary &id) {
        detail::check(muon_delivery_declared(h_, id.data(), id.size()), "muon::delivery::declared");
    }
    /** The transaction its peer sent or acknowledged it in (empty: none). */
    binary transaction_id() const {
        binary id(32);
        id.resize(std::min<std::size_t>(muon_delivery_transaction_id(h_, id.data(), id.size()), id.size()));
        return id;
    }
    /** The same delivery. */
    friend bool operator==(const delivery &a, const delivery &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same delivery. */
    friend bool operator!=(const delivery &a, const delivery &b) noexcept { return !(a == b); }

private:
    muon_delivery h_{};
};

/**
 * A sending link (a `muon_sender` handle), valid until `on_link_final`
 * returns.
 */
class sender {
public:
    /** The null handle. */
    sender() noexcept = default;
    /** The handle `h`. */
    explicit sender(muon_sender h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_sender &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /**
     * Sends `m` (encoded now: it may change right after): at once with
     * credit, else held in the sender's queue until credit comes. Returns its
     * delivery (a null handle when sent pre-settled). Throws `muon::error`:
     * queue_full when the queue is full, closed once the link is closing.
     */
    muon::delivery send(const message_view &m) {
        muon_delivery d{};
        detail::check(muon_sender_send(h_, m.get(), &d), "muon::sender::send");
        return muon::delivery(d);
    }
    /** Sends `m` as above, without throwing: on failure `ec` says why and the delivery is null. */
    muon::delivery send(const message_view &m, std::error_code &ec) noexcept {
        muon_delivery d{};
        muon_result rc = muon_sender_send(h_, m.get(), &d);
        ec = rc == MUON_RESULT_OK ? std::error_code() : make_error_code(static_cast<errc>(rc));
        return muon::delivery(d);
    }
    /**
     * Sends `m` as `send` does, with the delivery tag `tag` (at most 32 bytes;
     * empty: muon makes one up) and the transfer's message format `format`
     * (0: an AMQP message; another value: a format agreed with the receiver).
     */
    muon::delivery send_with(const message_view &m, const binary &tag, uint32_t format = 0) {
        muon_delivery d{};
        detail::check(muon_sender_send_with(h_, m.get(), tag.empty() ? nullptr : tag.data(), tag.size(), format, &d),
                      "muon::sender::send_with");
        return muon::delivery(d);
    }
    /** Sends `m` as `send` does, in transaction `t`: it is delivered only if `t` commits. */
    muon::delivery send_in(const muon::transaction &t, const message_view &m);
    /** The largest message the receiver takes, in encoded bytes (0: no limit given). */
    uint64_t remote_max_message_size() const noexcept { return muon_sender_remote_max_message_size(h_); }
    /** True if the peer closed the link; false if it only detached it (to resume it later). */
    bool remote_closed() const noexcept { return muon_sender_remote_closed(h_); }
    /** Detaches it without closing it, to be resumed by a link of the same name later. */
    void detach() { detail::check_closing(muon_sender_detach(h_), "muon::sender::detach"); }
    /**
     * For a sender the peer attached, before it is opened here: the filter set
     * (a map with symbol keys, or std::nullopt for none) answered in its source.
     */
    void set_source_filter(const std::optional<value> &filter) {
        detail::check(muon_sender_set_source_filter(h_, filter ? filter->get() : nullptr),
                      "muon::sender::set_source_filter");
    }
    /** How many messages it may send now without their waiting in the queue. */
    uint32_t credit() const noexcept { return muon_sender_credit(h_); }
    /** Its statistics now (`muon_sender_get_stats`); throws `muon::error` for a stale handle. */
    muon_link_stats stats() const {
        muon_link_stats s = MUON_LINK_STATS_INIT;
        detail::check(muon_sender_get_stats(h_, &s), "muon::sender::stats");
        return s;
    }
    /** How many messages wait in its queue for credit. */
    uint32_t queued() const noexcept { return muon_sender_queued(h_); }
    /** Tells the receiver how many messages wait to be sent. */
    void offered(uint32_t count) { detail::check(muon_sender_offered(h_, count), "muon::sender::offered"); }
    /** Says it has nothing more to send now (answers a drain). */
    void drained() { detail::check(muon_sender_drained(h_), "muon::sender::drained"); }
    /** Begins closing it; closing a link that is closed or gone does nothing. */
    void close() { detail::check_closing(muon_sender_close(h_), "muon::sender::close"); }
    /** Begins closing it with an error condition. */
    void close(const condition &c) {
        detail::check_closing(muon_sender_close_with_info(h_, detail::c_str(c.name, "muon::sender::close"),
                                                          detail::c_str(c.description, "muon::sender::close"),
                                                          c.info ? c.info->get() : nullptr),
                              "muon::sender::close");
    }
    /** Begins closing it with the condition `name` and `description`. */
    void close(const std::string &name, const std::string &description) {
        detail::check_closing(muon_sender_close_with(h_, detail::c_str(name, "muon::sender::close"),
                                                     detail::c_str(description, "muon::sender::close")),
                              "muon::sender::close");
    }
    /** Its connection. */
    muon::connection connection() const noexcept;
    /** Its name (empty for a stale handle). */
    std::string name() const { return detail::opt_string(muon_sender_name(h_)).value_or(""); }
    /** The address of the target the peer attached with. */
    std::optional<std::string> remote_target_address() const {
        return detail::opt_string(muon_sender_remote_target_address(h_));
    }
    /** The address of the source the peer attached with. */
    std::optional<std::string> remote_source_address() const {
        return detail::opt_string(muon_sender_remote_source_address(h_));
    }
    /** The source the peer attached with. */
    std::optional<terminus> remote_source() const { return terminus::from(muon_sender_remote_source(h_)); }
    /** The target the peer attached with. */
    std::optional<terminus> remote_target() const { return terminus::from(muon_sender_remote_target(h_)); }
    /** For a sender the peer attached: the source address to answer with. */
    void set_source_address(const std::string &address) {
        detail::check(muon_sender_set_source_address(h_, detail::c_str(address, "muon::sender::set_source_address")),
                      "muon::sender::set_source_address");
    }
    /** The properties of the peer's attach. */
    std::optional<value> remote_properties() const { return detail::opt_value(muon_sender_remote_properties(h_)); }
    /** True if the peer's attach offers `capability`. */
    bool remote_offers_capability(const std::string &capability) const {
        return muon_sender_remote_offers_capability(h_, capability.c_str());
    }
    /** True if the peer's attach desires `capability`. */
    bool remote_desires_capability(const std::string &capability) const {
        return muon_sender_remote_desires_capability(h_, capability.c_str());
    }
    /** The condition the peer closed it with. */
    std::optional<condition> remote_condition() const { return condition::from(muon_sender_remote_condition(h_)); }
    /** The condition this side closed it with. */
    std::optional<condition> local_condition() const { return condition::from(muon_sender_local_condition(h_)); }
    /** Sets its handler (for a sender the peer attached, in `on_link_remote_attach`). */
    void set_handler(handler_binding h) {
        detail::check(muon_sender_set_handler(h_, h.table(), h.userdata()), "muon::sender::set_handler");
        h.release();
    }
    /** Turns its auto-settle built-in on or off. */
    void set_auto_settle(bool on) { detail::check(muon_sender_set_auto_settle(h_, on), "muon::sender::set_auto_settle"); }
    /** Answers the peer's attach by hand (handshake off). */
    void answer_open() { detail::check(muon_sender_answer_open(h_), "muon::sender::answer_open"); }
    /** The same link. */
    friend bool operator==(const sender &a, const sender &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same link. */
    friend bool operator!=(const sender &a, const sender &b) noexcept { return !(a == b); }

private:
    muon_sender h_{};
};

/**
 * A receiving link (a `muon_receiver` handle), valid until `on_link_final`
 * returns. By default it keeps 10 messages of credit granted and accepts
 * each message when `on_message` returns.
 */
class receiver {
public:
    /** The null handle. */
    receiver() noexcept = default;
    /** The handle `h`. */
    explicit receiver(muon_receiver h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_receiver &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /** Sets the credit to `credit` messages (absolute). */
    void flow(uint32_t credit) { detail::check(muon_receiver_flow(h_, credit), "muon::receiver::flow"); }
    /** Grants `credit` and asks the sender to use it or give it back. */
    void drain(uint32_t credit) { detail::check(muon_receiver_drain(h_, credit), "muon::receiver::drain"); }
    /** The credit granted and not used yet. */
    uint32_t credit() const noexcept { return muon_receiver_credit(h_); }
    /** Its statistics now (`muon_receiver_get_stats`); throws `muon::error` for a stale handle. */
    muon_link_stats stats() const {
        muon_link_stats s = MUON_LINK_STATS_INIT;
        detail::check(muon_receiver_get_stats(h_, &s), "muon::receiver::stats");
        return s;
    }
    /** True while a drain is not over. */
    bool draining() const noexcept { return muon_receiver_is_draining(h_); }
    /** Begins closing it; closing a link that is closed or gone does nothing. */
    void close() { detail::check_closing(muon_receiver_close(h_), "muon::receiver::close"); }
    /** Detaches it without closing it, to be resumed by a link of the same name later. */
    void detach() { detail::check_closing(muon_receiver_detach(h_), "muon::receiver::detach"); }
    /** True if the peer closed the link; false if it only detached it (to resume it later). */
    bool remote_closed() const noexcept { return muon_receiver_remote_closed(h_); }
    /** Begins closing it with an error condition. */
    void close(const condition &c) {
        detail::check_closing(muon_receiver_close_with_info(h_, detail::c_str(c.name, "muon::receiver::close"),
                                                            detail::c_str(c.description, "muon::receiver::close"),
                                                            c.info ? c.info->get() : nullptr),
                              "muon::receiver::close");
    }
    /** Begins closing it with the condition `name` and `description`. */
    void close(const std::string &name, const std::string &description) {
        detail::check_closing(muon_receiver_close_with(h_, detail::c_str(name, "muon::receiver::close"),
                                                       detail::c_str(description, "muon::receiver::close")),
                              "muon::receiver::close");
    }
    /** Its connection. */
    muon::connection connection() const noexcept;
    /** Its name (empty for a stale handle). */
    std::string name() const { return detail::opt_string(muon_receiver_name(h_)).value_or(""); }
    /** The address of the source the peer attached with (a dynamic node's, once opened). */
    std::optional<std::string> remote_source_address() const {
        return detail::opt_string(muon_receiver_remote_source_address(h_));
    }
    /** The address of the target the peer attached with. */
    std::optional<std::string> remote_target_address() const {
        return detail::opt_string(muon_receiver_remote_target_address(h_));
    }
    /** The source the peer attached with. */
    std::optional<terminus> remote_source() const { return terminus::from(muon_receiver_remote_source(h_)); }
    /** The target the peer attached with. */
    std::optional<terminus> remote_target() const { return terminus::from(muon_receiver_remote_target(h_)); }
    /** For a receiver the peer attached: the target address to answer with. */
    void set_target_address(const std::string &address) {
        detail::check(muon_receiver_set_target_address(h_, detail::c_str(address, "muon::receiver::set_target_address")),
                      "muon::receiver::set_target_address");
    }
    /** The properties of the peer's attach. */
    std::optional<value> remote_properties() const { return detail::opt_value(muon_receiver_remote_properties(h_)); }
    /** True if the peer's attach offers `capability`. */
    bool remote_offers_capability(const std::string &capability) const {
        return muon_receiver_remote_offers_capability(h_, capability.c_str());
    }
    /** True if the peer's attach desires `capability`. */
    bool remote_desires_capability(const std::string &capability) const {
        return muon_receiver_remote_desires_capability(h_, capability.c_str());
    }
    /** The condition the peer closed it with. */
    std::optional<condition> remote_condition() const { return condition::from(muon_receiver_remote_condition(h_)); }
    /** The condition this side closed it with. */
    std::optional<condition> local_condition() const { return condition::from(muon_receiver_local_condition(h_)); }
    /** Sets its handler (for a receiver the peer attached, in `on_link_remote_attach`). */
    void set_handler(handler_binding h) {
        detail::check(muon_receiver_set_handler(h_, h.table(), h.userdata()), "muon::receiver::set_handler");
        h.release();
    }
    /** Turns its auto-accept built-in on or off. */
    void set_auto_accept(bool on) { detail::check(muon_receiver_set_auto_accept(h_, on), "muon::receiver::set_auto_accept"); }
    /** Sets its credit window (0: grant credit by hand). */
    void set_credit_window(uint32_t window) {
        detail::check(muon_receiver_set_credit_window(h_, window), "muon::receiver::set_credit_window");
    }
    /** Answers the peer's attach by hand (handshake off). */
    void answer_open() { detail::check(muon_receiver_answer_open(h_), "muon::receiver::answer_open"); }
    /** The same link. */
    friend bool operator==(const receiver &a, const receiver &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same link. */
    friend bool operator!=(const receiver &a, const receiver &b) noexcept { return !(a == b); }

private:
    muon_receiver h_{};
};

/**
 * A connection (a `muon_connection` handle), valid until
 * `on_connection_final` returns; it survives the built-in reconnect.
 */
class connection {
public:
    /** The null handle. */
    connection() noexcept = default;
    /** The handle `h`. */
    explicit connection(muon_connection h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_connection &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }

    /**
     * Declares a transaction on the peer's coordinator; `on_transaction_declared`
     * follows (then send and accept in it, and commit or roll it back), or
     * `on_transaction_failed`. Its events go to `h`, else the connection's handler.
     */
    muon::transaction declare_transaction(handler_binding h = {});
    /**
     * The sender to `address` an earlier call opened on this connection, while
     * it is still open; else a new one (default options, events to the
     * connection's handler, else the loop's), remembered for later calls: the
     * tutorial server's senders by reply-to address.
     */
    muon::sender sender_to(const std::string &address) {
        muon_sender s{};
        detail::check(muon_connection_sender_to(h_, detail::c_str(address, "muon::connection::sender_to"), &s),
                      "muon::connection::sender_to");
        return muon::sender(s);
    }
    /**
     * Sends `reply` to `request`'s reply-to address (on `sender_to`'s sender),
     * with `to` set to it and the correlation-id set to the request's
     * correlation-id, else its message-id. Throws `muon::error` not_found when
     * the request has no reply-to (nothing is sent).
     */
    muon::delivery send_reply(const message_view &request, message &reply) {
        muon_delivery d{};
        detail::check(muon_connection_send_reply(h_, request.get(), reply.get(), &d), "muon::connection::send_reply");
        return muon::delivery(d);
    }
    /**
     * Opens a sender to `address` (std::nullopt: no target address, for an
     * anonymous relay). Its events go to `h`, else to the connection's
     * handler, else to the loop's.
     */
    muon::sender open_sender(const std::optional<std::string> &address, handler_binding h = {}) {
        return open_sender_with(address, nullptr, std::move(h));
    }
    /** Opens a sender with options. */
    muon::sender open_sender(const std::optional<std::string> &address, const link_options &o,
                             handler_binding h = {}) {
        return open_sender_with(address, o.get(), std::move(h));
    }
    /** Opens a receiver from `address` (std::nullopt with a dynamic option). */
    muon::receiver open_receiver(const std::optional<std::string> &address, handler_binding h = {}) {
        return open_receiver_with(address, nullptr, std::move(h));
    }
    /** Opens a receiver with options. */
    muon::receiver open_receiver(const std::optional<std::string> &address, const link_options &o,
                                 handler_binding h = {}) {
        return open_receiver_with(address, o.get(), std::move(h));
    }
    /** Begins closing it (and its links); closing a connection that is closed or gone does nothing. */
    void close() { detail::check_closing(muon_connection_close(h_), "muon::connection::close"); }
    /** Begins closing it with an error condition. */
    void close(const condition &c) {
        detail::check_closing(muon_connection_close_with_info(h_, detail::c_str(c.name, "muon::connection::close"),
                                                              detail::c_str(c.description, "muon::connection::close"),
                                                              c.info ? c.info->get() : nullptr),
                              "muon::connection::close");
    }
    /** Begins closing it with the condition `name` and `description`. */
    void close(const std::string &name, const std::string &description) {
        detail::check_closing(muon_connection_close_with(h_, detail::c_str(name, "muon::connection::close"),
                                                         detail::c_str(description, "muon::connection::close")),
                              "muon::connection::close");
    }
    /** Ends it at once, without the close handshake. */
    void abort() { detail::check_closing(muon_connection_abort(h_), "muon::connection::abort"); }
    /** Answers the peer's open by hand (accepted connections, handshake off). */
    void answer_open() { detail::check(muon_connection_answer_open(h_), "muon::connection::answer_open"); }
    /** Sets its handler (for an accepted connection, in `on_connection_accepted`). */
    void set_handler(handler_binding h) {
        detail::check(muon_connection_set_handler(h_, h.table(), h.userdata()), "muon::connection::set_handler");
        h.release();
    }
    /** True while the AMQP connection is open both ways. */
    bool is_open() const noexcept { return muon_connection_is_open(h_); }
    /** True while it has a connected transport. */
    bool is_connected() const noexcept { return muon_connection_is_connected(h_); }
    /** The peer's container id. */
    std::optional<std::string> remote_container_id() const {
        return detail::opt_string(muon_connection_remote_container_id(h_));
    }
    /** The hostname the peer asked for. */
    std::optional<std::string> remote_hostname() const {
        return detail::opt_string(muon_connection_remote_hostname(h_));
    }
    /** True if the peer's open offers `capability`. */
    bool remote_offers_capability(const std::string &capability) const {
        return muon_connection_remote_offers_capability(h_, capability.c_str());
    }
    /** True if the peer's open desires `capability`. */
    bool remote_desires_capability(const std::string &capability) const {
        return muon_connection_remote_desires_capability(h_, capability.c_str());
    }
    /** The properties of the peer's open. */
    std::optional<value> remote_properties() const { return detail::opt_value(muon_connection_remote_properties(h_)); }
    /** The condition the peer closed it with. */
    std::optional<condition> remote_condition() const { return condition::from(muon_connection_remote_condition(h_)); }
    /** The condition this side closed it with. */
    std::optional<condition> local_condition() const { return condition::from(muon_connection_local_condition(h_)); }
    /** The SASL user: this side's, or the one the peer logged in as. */
    std::optional<std::string> user() const { return detail::opt_string(muon_connection_user(h_)); }
    /** The XOAUTH2 token for its next reconnect. */
    void set_token(const std::string &token) {
        detail::check(muon_connection_set_token(h_, detail::c_str(token, "muon::connection::set_token")),
                      "muon::connection::set_token");
    }
    /** The SASL mechanism chosen (client) or asked for (listener). */
    std::optional<std::string> sasl_mechanism() const { return detail::opt_string(muon_connection_sasl_mechanism(h_)); }
    /** Its statistics now (`muon_connection_get_stats`); throws `muon::error` for a stale handle. */
    muon_connection_stats stats() const {
        muon_connection_stats s = MUON_CONNECTION_STATS_INIT;
        detail::check(muon_connection_get_stats(h_, &s), "muon::connection::stats");
        return s;
    }
    /** In `on_sasl_authenticate`: the user the client claims. */
    std::optional<std::string> sasl_request_user() const { return detail::opt_string(muon_connection_sasl_request_user(h_)); }
    /** In `on_sasl_authenticate` for PLAIN: the password to check. */
    std::optional<std::string> sasl_request_password() const {
        return detail::opt_string(muon_connection_sasl_request_password(h_));
    }
    /** In `on_sasl_authenticate` for XOAUTH2: the token to check. */
    std::optional<std::string> sasl_request_token() const { return detail::opt_string(muon_connection_sasl_request_token(h_)); }
    /** In `on_sasl_authenticate`: accepts or refuses a PLAIN, XOAUTH2, EXTERNAL or ANONYMOUS login. */
    void sasl_accept(bool accept) { detail::check(muon_connection_sasl_accept(h_, accept), "muon::connection::sasl_accept"); }
    /** In `on_sasl_authenticate` for SCRAM: the user's stored credentials (std::nullopt: no such user). */
    void sasl_scram_credentials(const std::optional<std::string> &credentials) {
        detail::check(muon_connection_sasl_scram_credentials(
                          h_, credentials ? detail::c_str(*credentials, "muon::connection::sasl_scram_credentials") : nullptr),
                      "muon::connection::sasl_scram_credentials");
    }
    /** The same connection. */
    friend bool operator==(const connection &a, const connection &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same connection. */
    friend bool operator!=(const connection &a, const connection &b) noexcept { return !(a == b); }

private:
    muon::sender open_sender_with(const std::optional<std::string> &address, const muon_link_options *o,
                                  handler_binding h) {
        muon_sender s{};
        detail::check(muon_connection_open_sender(
                          h_, address ? detail::c_str(*address, "muon::connection::open_sender") : nullptr, o,
                          h.table(), h.userdata(), &s),
                      "muon::connection::open_sender");
        h.release();
        return muon::sender(s);
    }
    muon::receiver open_receiver_with(const std::optional<std::string> &address, const muon_link_options *o,
                                      handler_binding h) {
        muon_receiver r{};
        detail::check(muon_connection_open_receiver(
                          h_, address ? detail::c_str(*address, "muon::connection::open_receiver") : nullptr, o,
                          h.table(), h.userdata(), &r),
                      "muon::connection::open_receiver");
        h.release();
        return muon::receiver(r);
    }
    muon_connection h_{};
};

/** A listener (a `muon_listener` handle), valid until `on_listener_final` returns. */
class listener {
public:
    /** The null handle. */
    listener() noexcept = default;
    /** The handle `h`. */
    explicit listener(muon_listener h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_listener &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /** The port it is bound to (0 once closed). */
    uint16_t port() const noexcept { return muon_listener_port(h_); }
    /** Stops listening; closing a listener that is closed or gone does nothing. */
    void close() { detail::check_closing(muon_listener_close(h_), "muon::listener::close"); }
    /** The same listener. */
    friend bool operator==(const listener &a, const listener &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same listener. */
    friend bool operator!=(const listener &a, const listener &b) noexcept { return !(a == b); }

private:
    muon_listener h_{};
};

/** A timer (a `muon_timer` handle), valid until it fires or is cancelled. */
class timer {
public:
    /** The null handle. */
    timer() noexcept = default;
    /** The handle `h`. */
    explicit timer(muon_timer h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_timer &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /** Cancels it; false if it had fired or been cancelled already. */
    bool cancel() {
        muon_result rc = muon_timer_cancel(h_);
        if (rc == MUON_RESULT_STALE_HANDLE) return false;
        detail::check(rc, "muon::timer::cancel");
        return true;
    }
    /** The same timer. */
    friend bool operator==(const timer &a, const timer &b) noexcept { return detail::same_handle(a.h_, b.h_); }
    /** Not the same timer. */
    friend bool operator!=(const timer &a, const timer &b) noexcept { return !(a == b); }

private:
    muon_timer h_{};
};

// ---------------------------------------------------------------- the loop

/// @cond MUON_INTERNAL
namespace detail {
// A function posted from another thread: run once on the loop's thread, or
// freed with the loop if still pending then (the C library drops it).
struct post_box {
    std::function<void()> fn;
    muon_loop *loop;
};
struct post_registry {
    std::mutex lock;
    std::unordered_multimap<muon_loop *, post_box *> pending;
};
inline post_registry &posts() {
    static post_registry r;
    return r;
}
inline void run_posted(void *context) noexcept {
    auto *box = static_cast<post_box *>(context);
    {
        std::lock_guard<std::mutex> g(posts().lock);
        auto range = posts().pending.equal_range(box->loop);
        for (auto it = range.first; it != range.second; ++it) {
            if (it->second == box) {
                posts().pending.erase(it);
                break;
            }
        }
    }
    guarded(box->loop, [&] { box->fn(); });
    delete box;
}
inline void drop_posted(muon_loop *lp) noexcept {
    std::lock_guard<std::mutex> g(posts().lock);
    auto range = posts().pending.equal_range(lp);
    for (auto it = range.first; it != range.second; ++it) delete it->second;
    posts().pending.erase(lp);
}
struct log_box {
    std::function<void(std::string_view)> fn;
    muon_loop *loop;
};
inline void run_log(void *userdata, const char *line) noexcept {
    auto *box = static_cast<log_box *>(userdata);
    guarded(box->loop, [&] { box->fn(std::string_view(line)); });
}
} // namespace detail
/// @endcond

/**
 * A loop that the handle does not own (`muon::event::loop()`, or the
 * `muon::loop` it is a base of): everything a loop does but end its life.
 */
class loop_ref {
public:
    /** No loop. */
    loop_ref() noexcept = default;
    /** The loop `lp` (borrowed). */
    explicit loop_ref(muon_loop *lp) noexcept : lp_(lp) {}
    /** The C loop. */
    muon_loop *get() const noexcept { return lp_; }
    /** False for no loop. */
    explicit operator bool() const noexcept { return lp_ != nullptr; }

    /**
     * Connects to `url` (`[amqp[s]://][user[:password]@]host[:port]`):
     * the connection's events go to `h`, else the loop's default handler.
     * A connection that cannot be made is reported by `on_disconnected`.
     */
    muon::connection connect(const std::string &url, handler_binding h = {}) {
        return connect_with(url, nullptr, std::move(h));
    }
    /** Connects to `url` with options. */
    muon::connection connect(const std::string &url, const connection_options &o, handler_binding h = {}) {
        return connect_with(url, o.get(), std::move(h));
    }
    /** Listens on `address` (`host:port`; port 0 picks a free one). */
    muon::listener listen(const std::string &address, handler_binding h = {}) {
        return listen_with(address, nullptr, std::move(h));
    }
    /** Listens on `address` with options (a certificate makes it a TLS listener). */
    muon::listener listen(const std::string &address, const connection_options &o, handler_binding h = {}) {
        return listen_with(address, o.get(), std::move(h));
    }
    /** Calls `f` once, after `delay`, on the loop's thread. */
    muon::timer schedule(std::chrono::milliseconds delay, std::function<void()> f) {
        handler h;
        h.on_timer = [f = std::move(f)](event &) { f(); };
        return schedule(delay, handler_binding(std::move(h)));
    }
    /** Calls `h`'s `on_timer` after `delay` (no handler: the loop's default's). */
    muon::timer schedule(std::chrono::milliseconds delay, handler_binding h) {
        muon_timer t{};
        uint64_t ms = delay.count() < 0 ? 0 : static_cast<uint64_t>(delay.count());
        detail::check(muon_loop_schedule(lp_, ms, h.table(), h.userdata(), &t), "muon::loop::schedule");
        h.release();
        return muon::timer(t);
    }
    /**
     * Runs the loop until no work is left or `stop()` is called. An
     * exception a handler threw comes out of here (the loop was stopped).
     */
    void run() {
        muon_result rc = muon_loop_run(lp_);
        detail::rethrow_error(lp_);
        detail::check(rc, "muon::loop::run");
    }
    /** Waits up to `timeout` (negative: no limit) for events, and dispatches what is ready. */
    void run_once(std::chrono::milliseconds timeout = std::chrono::milliseconds(-1)) {
        muon_result rc = muon_loop_run_once(lp_, timeout.count());
        detail::rethrow_error(lp_);
        detail::check(rc, "muon::loop::run_once");
    }
    /** Makes `run()` return once the current callback returns. */
    void stop() { detail::check(muon_loop_stop(lp_), "muon::loop::stop"); }
    /** Thread-safe: the default handler's `on_wake` runs soon, on the loop's thread. */
    void wake() { detail::check(muon_loop_wake(lp_), "muon::loop::wake"); }
    /**
     * Makes the signal `signum` (SIGINT, SIGTERM, ...) wake the loop instead of
     * its default action: the default handler's `on_wake` runs soon after it
     * arrives. Process-wide: a later call for the same signal moves it to
     * another loop.
     */
    void wake_on_signal(int signum) { detail::check(muon_loop_wake_on_signal(lp_, signum), "muon::loop::wake_on_signal"); }
    /**
     * Thread-safe: runs `f` soon on the loop's thread (in the order posted);
     * dropped if the loop is destroyed first.
     */
    void post(std::function<void()> f) {
        auto *box = new detail::post_box{std::move(f), lp_};
        {
            std::lock_guard<std::mutex> g(detail::posts().lock);
            detail::posts().pending.emplace(lp_, box);
        }
        muon_result rc = muon_loop_post(lp_, &detail::run_posted, box);
        if (rc != MUON_RESULT_OK) {
            {
                std::lock_guard<std::mutex> g(detail::posts().lock);
                auto range = detail::posts().pending.equal_range(lp_);
                for (auto it = range.first; it != range.second; ++it) {
                    if (it->second == box) {
                        detail::posts().pending.erase(it);
                        break;
                    }
                }
            }
            delete box;
            detail::check(rc, "muon::loop::post");
        }
    }
    /** Sets the loop's default handler: every event no other handler takes, and `on_wake`. */
    void set_handler(handler_binding h) {
        detail::check(muon_loop_set_handler(lp_, h.table(), h.userdata()), "muon::loop::set_handler");
        h.release();
    }
    /** Traces every frame to the log (or stderr), for transports that start after the call. */
    void set_trace(bool frames) {
        detail::check(muon_loop_set_trace(lp_, frames ? MUON_TRACE_FRAMES : 0u), "muon::loop::set_trace");
    }

protected:
    /** The C loop. */
    muon_loop *lp_ = nullptr;

private:
    muon::connection connect_with(const std::string &url, const muon_connection_options *o, handler_binding h) {
        muon_connection c{};
        detail::check(muon_loop_connect(lp_, detail::c_str(url, "muon::loop::connect"), o, h.table(), h.userdata(), &c),
                      "muon::loop::connect");
        h.release();
        return muon::connection(c);
    }
    muon::listener listen_with(const std::string &address, const muon_connection_options *o, handler_binding h) {
        muon_listener l{};
        detail::check(muon_loop_listen(lp_, detail::c_str(address, "muon::loop::listen"), o, h.table(), h.userdata(), &l),
                      "muon::loop::listen");
        h.release();
        return muon::listener(l);
    }
};

/**
 * An event loop the program owns (a `muon_loop`), used from the thread
 * that made it; destroying it (on that thread, outside its callbacks) drops
 * every connection, listener and timer it has. Move-only.
 */
class loop : public loop_ref {
public:
    /** A new loop (`MUON_TRACE=frm` in the environment traces frames). */
    loop() { detail::check(muon_loop_new(&lp_), "muon::loop"); }
    /** Takes `o`'s loop. */
    loop(loop &&o) noexcept : loop_ref(std::exchange(o.lp_, nullptr)), log_(std::move(o.log_)) {}
    /** Destroys this loop and takes `o`'s. */
    loop &operator=(loop &&o) noexcept {
        if (this != &o) {
            destroy();
            lp_ = std::exchange(o.lp_, nullptr);
            log_ = std::move(o.log_);
        }
        return *this;
    }
    loop(const loop &) = delete;
    loop &operator=(const loop &) = delete;
    ~loop() { destroy(); }
    /** Sends trace lines to `log` instead of stderr (an empty function: back to stderr). */
    void set_log(std::function<void(std::string_view line)> log) {
        if (!log) {
            detail::check(muon_loop_set_log(lp_, nullptr, nullptr), "muon::loop::set_log");
            log_.reset();
            return;
        }
        auto box = std::make_unique<detail::log_box>(detail::log_box{std::move(log), lp_});
        detail::check(muon_loop_set_log(lp_, &detail::run_log, box.get()), "muon::loop::set_log");
        log_ = std::move(box);
    }

private:
    void destroy() noexcept {
        if (lp_ == nullptr) return;
        if (muon_loop_try_free(lp_) != MUON_RESULT_OK) {
            (void)log_.release(); // not freed (wrong thread, or inside a callback): it may still log
            return;
        }
        detail::drop_posted(lp_);
        detail::forget_errors(lp_);
        lp_ = nullptr;
    }
    std::unique_ptr<detail::log_box> log_;
};

inline loop_ref event::loop() const noexcept { return loop_ref(muon_event_loop(e_)); }
inline connection event::connection() const noexcept { return muon::connection(muon_event_connection(e_)); }
inline sender event::sender() const noexcept { return muon::sender(muon_event_sender(e_)); }
inline receiver event::receiver() const noexcept { return muon::receiver(muon_event_receiver(e_)); }
inline delivery event::delivery() const noexcept { return muon::delivery(muon_event_delivery(e_)); }
inline listener event::listener() const noexcept { return muon::listener(muon_event_listener(e_)); }
inline timer event::timer() const noexcept { return muon::timer(muon_event_timer(e_)); }
/**
 * A transaction this side declared (a `muon_transaction` handle), valid until
 * its final event (`on_transaction_discharged` or `on_transaction_failed`)
 * returns.
 */
class transaction {
public:
    /** The null handle. */
    transaction() noexcept = default;
    /** The handle `h`. */
    explicit transaction(muon_transaction h) noexcept : h_(h) {}
    /** The C handle. */
    const muon_transaction &get() const noexcept { return h_; }
    /** False for the null handle. */
    explicit operator bool() const noexcept { return h_.owner != nullptr; }
    /** Commits it: `on_transaction_discharged` follows, or `on_transaction_failed`. */
    void commit() { detail::check(muon_transaction_commit(h_), "muon::transaction::commit"); }
    /** Rolls it back: `on_transaction_discharged` follows. */
    void rollback() { detail::check(muon_transaction_rollback(h_), "muon::transaction::rollback"); }
    /** Its id, as the coordinator named it (empty before it is declared). */
    binary id() const {
        binary id(32);
        id.resize(std::min<std::size_t>(muon_transaction_id(h_, id.data(), id.size()), id.size()));
        return id;
    }

private:
    muon_transaction h_{};
};

inline transaction event::transaction() const noexcept { return muon::transaction(muon_event_transaction(e_)); }
inline void delivery::accept_in(const muon::transaction &t) {
    detail::check(muon_delivery_accept_in(h_, t.get()), "muon::delivery::accept_in");
}
inline delivery sender::send_in(const muon::transaction &t, const message_view &m) {
    muon_delivery d{};
    detail::check(muon_sender_send_in(h_, t.get(), m.get(), &d), "muon::sender::send_in");
    return muon::delivery(d);
}
inline transaction connection::declare_transaction(handler_binding h) {
    muon_transaction t{};
    detail::check(muon_connection_declare_transaction(h_, h.table(), h.userdata(), &t),
                  "muon::connection::declare_transaction");
    h.release();
    return muon::transaction(t);
}
inline connection sender::connection() const noexcept { return muon::connection(muon_sender_connection(h_)); }
inline connection receiver::connection() const noexcept { return muon::connection(muon_receiver_connection(h_)); }

#undef MUON_HPP_EVENTS

} // namespace muon

#endif // MUON_HPP
