// rr_client.cpp: the request/response latency client on Qpid Proton's C++ API,
// the Proton side of muon's benches/c/rr_client.c. It does the work of Proton's
// examples/cpp/client.cpp (a sender to the server's address, a dynamic receiver
// for the replies, one request outstanding at a time, each request a string body
// with reply-to set) for COUNT sequential round trips, timing each one, and
// prints the percentiles. Proton's own server.cpp (through a broker) or
// server_direct.cpp (direct) answers.
//
// usage: rr_client URL COUNT        URL as Proton takes it, e.g. 127.0.0.1:5672/examples
// prints: rr count=N p50_us=.. p99_us=.. p999_us=.. max_us=..
#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver_options.hpp>
#include <proton/source_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

class rr_client : public proton::messaging_handler {
    std::string url_;
    int count_;
    int done_ = 0;
    proton::sender sender_;
    proton::receiver receiver_;
    clock_type::time_point started_;

  public:
    std::vector<double> micros;

    rr_client(std::string url, int count) : url_(std::move(url)), count_(count) {
        micros.reserve(count);
    }

    void on_container_start(proton::container &c) override {
        sender_ = c.open_sender(url_);
        proton::receiver_options ro;
        ro.source(proton::source_options().dynamic(true));
        receiver_ = sender_.connection().open_receiver("", ro);
    }

    void request() {
        proton::message m;
        m.body(std::string("Twas brillig, and the slithy toves"));
        m.reply_to(receiver_.source().address());
        started_ = clock_type::now();
        sender_.send(m);
    }

    void on_receiver_open(proton::receiver &) override { request(); }

    void on_message(proton::delivery &d, proton::message &) override {
        auto took = clock_type::now() - started_;
        micros.push_back(std::chrono::duration<double, std::micro>(took).count());
        if (++done_ < count_) {
            request();
        } else {
            d.connection().close();
        }
    }
};

double pct(const std::vector<double> &v, double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size()));
    if (i >= v.size()) i = v.size() - 1;
    return v[i];
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s URL COUNT\n", argv[0]);
        return 2;
    }
    rr_client client(argv[1], std::atoi(argv[2]));
    try {
        proton::container(client).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "rr_client: %s\n", e.what());
        return 1;
    }
    auto v = client.micros;
    if (v.empty()) return 1;
    std::sort(v.begin(), v.end());
    std::printf("rr count=%zu p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", v.size(),
                pct(v, 0.50), pct(v, 0.99), pct(v, 0.999), v.back());
    return 0;
}
