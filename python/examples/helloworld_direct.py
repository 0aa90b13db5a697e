#!/usr/bin/env python3
"""helloworld_direct.py: hello world without a broker (Qpid Proton's Python
tutorial, on muon). The program listens and connects to itself; the
listener's side is the loop's handlers (HelloWorldReceiver, Handshaker,
FlowController). With -m COUNT it keeps listening until COUNT messages
have arrived (its own and others'); -m 0 listens until interrupted.

    helloworld_direct.py [-a URL] [-m COUNT]   URL defaults to
                         localhost:5672/examples, port 0 picks a free port

Prints: Hello World!  (after "listening on PORT" when port 0 was asked for)
"""
import sys

from muon import EventLoop, FlowController, Handshaker, IncomingMessageHandler, Message

from example import Example, Failures, close


class HelloWorldReceiver(IncomingMessageHandler):
    received = 0

    def on_message(self, event):
        print(event.message.body)
        sys.stdout.flush()
        self.received += 1
        if self.received == ex.count:
            hello.finish()

    def on_connection_remote_close(self, event):  # an accepted connection's
        if event.condition and not ex.done:
            sys.stderr.write(f"{ex.name}: a peer's connection: {event.condition}\n")

    on_disconnected = on_connection_remote_close


class HelloWorldSender(object):
    def on_link_flow(self, event):
        event.link.send_msg(Message(body="Hello World!"))
        event.link.close()


class HelloWorld(object):
    def __init__(self, eventloop, url, address):
        self.eventloop = eventloop
        self.acceptor = eventloop.listen(url, **ex.tls_server())
        if ex.url.port == 0:
            print("listening on %d" % self.acceptor.port)
            sys.stdout.flush()
        host = "[%s]" % ex.url.host if ":" in ex.url.host else ex.url.host
        to = "%s://%s:%d" % (ex.url.scheme, host, self.acceptor.port)
        self.conn = ex.connect(eventloop, to, handler=self)
        self.address = address

    def on_connection_remote_open(self, event):
        self.conn.sender(self.address, handler=HelloWorldSender())

    def on_link_remote_close(self, event):
        self.closed(event.link.remote_condition, "link closed by")

    def on_connection_remote_close(self, event):
        self.closed(event.connection.remote_condition, "connection closed by")

    def closed(self, error=None, what=None):
        if error:
            print("Closed due to %s" % error)
            ex.fail(what, str(error))
            self.finish()

    def finish(self):
        ex.done = True
        close(self.conn, self.acceptor)

    def run(self):
        return ex.run(self.eventloop, self.finish)


ex = Example("helloworld_direct", 'Listens at the URL, sends itself "Hello World!" and prints '
             "what arrives. Port 0 picks a free port.\nOver amqps://, the listener serves "
             "--cert and --key, and the client trusts --ca.",
             count_help="how many messages to receive (default 1; 0: until interrupted)",
             count_default=1)
if ex.url.scheme == "amqps" and "cert" not in ex.tls:
    sys.stderr.write(f"{ex.name}: -a amqps://... needs --cert FILE --key FILE\n")
    sys.exit(2)
eventloop = EventLoop(HelloWorldReceiver(), Handshaker(), FlowController(10),
                      Failures(ex, lambda: hello.finish()))
try:
    hello = HelloWorld(eventloop, ex.url_text, ex.address)
except (OSError, ValueError) as e:
    sys.stderr.write(f"{ex.name}: {e}\n")
    sys.exit(1)
sys.exit(hello.run())
