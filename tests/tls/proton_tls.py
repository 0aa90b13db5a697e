"""Qpid Proton (Python, Debian's python3-qpid-proton) over TLS against muon,
for tests/tls.rs. Two roles:

  proton_tls.py send URL CA COUNT
      A TLS client that trusts only CA and checks the server's name
      (VERIFY_PEER_NAME); sends COUNT messages {'sequence': i} to the URL's
      address and prints "all messages confirmed" once all are accepted.
  proton_tls.py serve HOST PORT CERT KEY COUNT
      A TLS server (the certificate CERT, its key KEY) on HOST:PORT; prints
      "listening on PORT", then the body of every message it receives, and
      exits once it has COUNT and the client has closed its connection.

Either exits 1 with the condition on stderr if the transport fails.
Run with /usr/bin/python3.
"""

import sys

from proton import Message, SSLDomain
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Failing(MessagingHandler):
    def __init__(self):
        super().__init__()
        self.failed = False

    def on_transport_error(self, event):
        cond = event.transport.condition
        print(f"proton: transport error: {cond.name}: {cond.description}",
              file=sys.stderr, flush=True)
        self.failed = True
        event.container.stop()


class Send(Failing):
    def __init__(self, url, ca, count):
        super().__init__()
        self.url, self.ca, self.count = url, ca, count
        self.sent = self.confirmed = 0

    def on_start(self, event):
        domain = SSLDomain(SSLDomain.MODE_CLIENT)
        domain.set_trusted_ca_db(self.ca)
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
        conn = event.container.connect(self.url, ssl_domain=domain, reconnect=False)
        event.container.create_sender(conn, self.url.split("/", 3)[3])

    def on_sendable(self, event):
        while event.sender.credit and self.sent < self.count:
            self.sent += 1
            event.sender.send(Message(body={"sequence": self.sent}))

    def on_accepted(self, event):
        self.confirmed += 1
        if self.confirmed == self.count:
            print("all messages confirmed", flush=True)
            event.connection.close()


class Serve(Failing):
    def __init__(self, host, port, cert, key, count):
        super().__init__()
        self.host, self.port, self.cert, self.key = host, port, cert, key
        self.count = count
        self.received = 0

    def on_start(self, event):
        domain = SSLDomain(SSLDomain.MODE_SERVER)
        domain.set_credentials(self.cert, self.key, None)
        domain.set_peer_authentication(SSLDomain.ANONYMOUS_PEER)
        event.container.listen(f"{self.host}:{self.port}", ssl_domain=domain)
        print(f"listening on {self.port}", flush=True)

    def on_message(self, event):
        self.received += 1
        print(event.message.body, flush=True)

    def on_connection_closing(self, event):
        # The client closed (after every disposition reached it): done.
        # (Here, not in on_connection_closed: this server-side handler never
        # gets that one, with Proton's own client as with muon's; only
        # on_transport_closed follows.)
        if self.received >= self.count:
            event.container.stop()


def main(argv):
    if len(argv) == 5 and argv[1] == "send":
        handler = Send(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 7 and argv[1] == "serve":
        handler = Serve(argv[2], argv[3], argv[4], argv[5], int(argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    Container(handler).run()
    return 1 if handler.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
