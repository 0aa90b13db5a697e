/*
 * server.cpp: the service side of request/response.
 *
 * As examples-c/server.c: receives requests from an address and answers each
 * with its body in upper case, sent to the request's reply-to address with
 * the request's message-id as correlation-id. It keeps one sender per
 * reply-to address; a reply waits in its sender's queue until the sender has
 * credit. Runs until SIGINT or SIGTERM (or until the broker closes the
 * connection).
 *
 *   server [-a URL]     URL defaults to localhost:5672/examples
 *
 * Prints nothing unless something goes wrong.
 */
#include "example.hpp"

#include <algorithm>
#include <cctype>
#include <map>

struct server : example::app {
    std::map<std::string, muon::sender> replies; // one sender per reply-to address
    using app::app;

    void on_message(muon::event &e) override {
        muon::message_view req = e.message();
        if (!req.reply_to()) return e.delivery().reject("amqp:precondition-failed", "the request has no reply-to address");
        auto text = muon::try_get<std::string>(req.body()).value_or(req.body().format());
        for (char &c : text) c = char(std::toupper(static_cast<unsigned char>(c)));
        muon::sender &s = replies[*req.reply_to()];
        if (!s) s = conn.open_sender(*req.reply_to());
        s.send(muon::message(text).correlation_id(req.id()));
    }

    auto reply(muon::sender s) {
        return std::find_if(replies.begin(), replies.end(), [&](auto &r) { return r.second == s; });
    }

    // amqp:resource-deleted is how a client's temporary address ends when the client
    // leaves; another error on a reply sender (a reply-to the broker refuses) is
    // reported, and serving goes on. An error on the request link ends the program.
    void on_link_remote_close(muon::event &e) override {
        auto c = e.condition();
        if (c && e.is_receiver()) {
            error("the request link was closed: " + c->str());
            conn.close();
        } else if (c && c->name != "amqp:resource-deleted") {
            std::cerr << "server: cannot reply to " << reply(e.sender())->first << ": " << *c << "\n";
        }
    }

    void on_link_final(muon::event &e) override { // a reply sender is gone
        if (reply(e.sender()) != replies.end()) replies.erase(reply(e.sender()));
    }

    void on_connection_remote_close(muon::event &e) override {
        if (auto c = e.condition()) {
            std::cout << "Closed due to " << *c << "\n";
            error("connection closed by " + opts.peer + ": " + c->str());
        }
        conn.close();
    }

    void on_disconnected(muon::event &e) override { // unless on_connection_remote_close said why
        if (exit_code == 0) error("disconnected from " + opts.peer + ": " + example::condition_text(e, "no reason given"));
        exit_code = 1;
    }

    void on_wake(muon::event &) override { conn.close(); } // SIGINT or SIGTERM
};

int main(int argc, char **argv) {
    example::options opts(argc, argv, "[-a URL]", 0);
    if (!opts.args.empty()) opts.usage_exit();
    server srv(opts);
    return example::run(srv, [&](muon::loop &loop) {
        loop.set_handler(srv);
        srv.conn = opts.connect(loop, srv);
        srv.conn.open_receiver(opts.address);
    }, true);
}
