#!/usr/bin/python3
"""A request/response client on Qpid Proton's Python binding, for
tests/c_examples.rs: it sends every request at once, each with its own
ids, and matches the responses to the requests by correlation-id alone
(they may come in any order), as a client with many requests in flight
must.

    correlated_client.py URL MODE REQUEST...

MODE "correlation-id": each request carries a message-id and a different
correlation-id, and the response must carry the request's correlation-id.
MODE "message-id": each request carries only a message-id, and the
response must carry it as its correlation-id.

Prints "REQUEST => RESPONSE" per request, in request order; exits 1 with a
message on stderr if a response carries an unknown correlation-id or none.
"""

import sys

from proton import Message, Url
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Client(MessagingHandler):
    def __init__(self, url, mode, requests):
        super().__init__()
        self.url = Url(url)
        self.mode = mode
        self.requests = requests
        self.expected = {}  # correlation-id -> index of the request
        self.responses = [None] * len(requests)
        self.failed = None

    def on_start(self, event):
        self.conn = event.container.connect(self.url)
        self.sender = event.container.create_sender(self.conn, self.url.path)
        self.receiver = event.container.create_receiver(self.conn, None, dynamic=True)

    def on_link_opened(self, event):
        if event.receiver != self.receiver:
            return
        reply_to = self.receiver.remote_source.address
        for i, body in enumerate(self.requests):
            message = Message(body=body, reply_to=reply_to, id="request-%d" % i)
            if self.mode == "correlation-id":
                message.correlation_id = "conversation-%d" % i
                self.expected[message.correlation_id] = i
            else:
                self.expected[message.id] = i
            self.sender.send(message)

    def on_message(self, event):
        i = self.expected.pop(event.message.correlation_id, None)
        if i is None:
            self.failed = "a response with correlation-id %r, which no request has" % (
                event.message.correlation_id,
            )
            event.connection.close()
            return
        self.responses[i] = event.message.body
        if not self.expected:
            event.connection.close()


def main():
    url, mode, requests = sys.argv[1], sys.argv[2], sys.argv[3:]
    client = Client(url, mode, requests)
    Container(client).run()
    if client.failed:
        print("correlated_client: " + client.failed, file=sys.stderr)
        return 1
    for request, response in zip(requests, client.responses):
        print("%s => %s" % (request, response))
    return 0


if __name__ == "__main__":
    sys.exit(main())
