#!/usr/bin/env python3
"""helloworld.py: send one message to a broker and receive it back (the
first program of Qpid Proton's Python tutorial, on muon).

    helloworld.py [-a URL]      URL defaults to localhost:5672/examples

Prints: Hello World!
"""
import sys

from muon import EventLoop, IncomingMessageHandler, Message

from example import Example, Failures, close


class HelloWorldReceiver(IncomingMessageHandler):
    def on_message(self, event):
        print(event.message.body)
        event.connection.close()


class HelloWorldSender(object):
    def on_link_flow(self, event):
        event.link.send_msg(Message(body="Hello World!"))
        event.link.close()


class HelloWorld(object):
    def __init__(self, eventloop, url, address):
        self.eventloop = eventloop
        self.conn = ex.connect(eventloop, url, handler=self)
        self.address = address

    def on_connection_remote_open(self, event):
        self.conn.receiver(self.address, handler=HelloWorldReceiver())

    def on_link_remote_open(self, event):
        if event.link.is_receiver:
            self.conn.sender(self.address, handler=HelloWorldSender())

    def on_link_remote_close(self, event):
        self.closed(event.link.remote_condition, "link closed by")

    def on_connection_remote_close(self, event):
        self.closed(event.connection.remote_condition, "connection closed by")

    def closed(self, error=None, what=None):
        if error:
            print("Closed due to %s" % error)
            ex.fail(what, str(error))
            close(self.conn)

    def run(self):
        return ex.run(self.eventloop, lambda: close(self.conn))


ex = Example("helloworld", 'Sends "Hello World!" to the URL\'s address, receives it back '
             "and prints it.")
hello = HelloWorld(EventLoop(Failures(ex, lambda: close(hello.conn))), ex.url_text, ex.address)
sys.exit(hello.run())
