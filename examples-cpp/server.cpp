/*
 * server.cpp: the service side of request/response.
 *
 * As examples-c/server.c: receives requests from the URL's address and
 * answers each with its body in upper case, sent to the request's reply-to
 * address with the request's message-id as correlation-id (one sender per
 * reply-to address, kept by the connection: muon::connection::send_reply).
 * Runs until SIGINT or SIGTERM (or until the broker closes the connection).
 *
 *   server [-a URL]     URL defaults to localhost:5672/examples
 *
 * Prints nothing unless something goes wrong.
 */
#include "example.hpp"

#include <cctype>

struct server : example::app {
    // A reply sender closed by the broker or a reply it did not accept.
    // amqp:resource-deleted is how a client's temporary address ends when the
    // client leaves; anything else is reported, and serving goes on.
    void reply_trouble(muon::event &e) {
        auto c = e.condition();
        if (c ? c->name != "amqp:resource-deleted" : e.kind() != muon::event_kind::link_remote_close) {
            std::cerr << program << ": cannot reply to " << e.sender().remote_target_address().value_or("?")
                      << ": " << (c ? c->str() : "not delivered") << "\n";
        }
    }
    void on_link_remote_close(muon::event &e) override {
        if (e.is_receiver()) on_closed_by_peer(e); // the request link
        else reply_trouble(e);
    }
    void on_rejected(muon::event &e) override { reply_trouble(e); }
    void on_released(muon::event &e) override { reply_trouble(e); }
    void on_modified(muon::event &e) override { reply_trouble(e); }

    void on_message(muon::event &e) override {
        muon::message_view request = e.message();
        std::string text = request.body().format();
        for (char &c : text) c = char(std::toupper(static_cast<unsigned char>(c)));
        muon::message reply(text);
        if (!request.reply_to()) e.delivery().reject("amqp:precondition-failed", "no reply"); // refuse it
        else conn.send_reply(request, reply);
    }
};

int main(int argc, char **argv) {
    server s;
    s.setup("server", argc, argv,
            "Answers each request from the URL's address with its body in upper case, until "
            "interrupted.",
            nullptr, nullptr);
    s.connect_to(s.url_text);
    s.conn.open_receiver(s.address);
    return s.run();
}
