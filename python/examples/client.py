#!/usr/bin/env python3
"""client.py: the requesting side of request/response (Qpid Proton's Python
tutorial, on muon). Sends each request with reply-to set to a dynamic
receiver's address (with -r, a fixed address instead), one at a time, and
prints each with its response.

    client.py [-a URL] [-r REPLY_TO] [REQUEST ...]
              URL defaults to localhost:5672/examples;
              without requests, sends the tutorial's four

Prints: REQUEST => RESPONSE, one line per request
"""
import sys

from muon import EventLoop, IncomingMessageHandler, Message

from example import Example, Failures, close


class Client(IncomingMessageHandler):
    def __init__(self, eventloop, host, address, requests):
        super().__init__()
        self.eventloop = eventloop
        self.conn = ex.connect(eventloop, host)
        self.sender = self.conn.sender(address)
        self.receiver = self.conn.receiver(ex.reply_to, dynamic=ex.reply_to is None,
                                           handler=self)
        self.requests = requests

    def next_request(self):
        req = Message(reply_to=self.reply_to, body=self.requests[0])
        self.sender.send_msg(req)

    def on_link_remote_open(self, event):
        self.reply_to = ex.reply_to or self.receiver.remote_source.address
        if self.reply_to is None:
            ex.fail("no reply address from", "a dynamic receiver without an address")
            close(self.conn)
        else:
            self.next_request()

    def on_message(self, event):
        print("%s => %s" % (self.requests.pop(0), event.message.body))
        if self.requests:
            self.next_request()
        else:
            ex.done = True
            close(self.conn)

    def on_link_remote_close(self, event):
        error = event.link.remote_condition
        if error:
            print("Closed due to %s" % error)
            ex.fail("link closed by", str(error))
            close(self.conn)

    def run(self):
        return ex.run(self.eventloop, lambda: close(self.conn))


REQUESTS = ["Twas brillig, and the slithy toves",
            "Did gire and gymble in the wabe.",
            "All mimsy were the borogroves,",
            "And the mome raths outgrabe."]

ex = Example("client", "Sends each ARGUMENT (else the tutorial's four requests) to the URL's "
             "address and prints it with its response.",
             reply_help="receive responses at this fixed address, not a dynamic one",
             takes_args=True)
client = Client(EventLoop(Failures(ex, lambda: close(client.conn))), ex.url_text, ex.address,
                ex.args or REQUESTS)
sys.exit(client.run())
