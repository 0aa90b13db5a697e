"""What the example programs share (as examples-c/common.h does for the C
ones): the command line (-a URL, -m COUNT, -r ADDRESS, --ca/--cert/--key),
the report of a failure on stderr with exit status 1, and the loop's handler
that makes the tutorial's closed() complete."""

import sys

import muon


class Example:
    """The command line of the program ``name`` and its failure reporting."""

    def __init__(self, name, about, count_help=None, count_default=None, reply_help=None,
                 takes_args=False):
        self.name = name
        self.url_text = "localhost:5672/examples"
        self.count = count_default
        self.reply_to = None
        self.args = []
        self.tls = {}
        self.done = False
        self.exit_code = 0
        argv = sys.argv[1:]
        i = 0
        while i < len(argv):
            a = argv[i]
            if a in ("-h", "--help"):
                self.usage(about, count_help, reply_help, takes_args, 0)
            value = argv[i + 1] if i + 1 < len(argv) else None
            if a == "-a" and value is not None:
                self.url_text = value
            elif a == "-m" and count_help and value is not None:
                try:
                    self.count = int(value, 10)
                except ValueError:
                    self.count = -1
                if not 0 <= self.count <= 2147483647:
                    sys.stderr.write(f"{name}: -m {value}: not a number from 0 to 2147483647\n")
                    sys.exit(2)
            elif a == "-r" and reply_help and value is not None:
                self.reply_to = value
            elif a in ("--ca", "--cert", "--key") and value is not None:
                self.tls[a[2:]] = value
            elif not a.startswith("-") and takes_args:
                self.args.append(a)
                i += 1
                continue
            else:
                self.usage(about, count_help, reply_help, takes_args, 2)
            i += 2
        if ("cert" in self.tls) != ("key" in self.tls):
            self.usage(about, count_help, reply_help, takes_args, 2)
        try:
            self.url = muon.Url(self.url_text)
        except ValueError as e:
            sys.stderr.write(f"{name}: -a: {e}\n")
            sys.exit(2)
        self.address = self.url.address
        # host:port as written (with the scheme when the URL has one)
        self.peer = self.url.origin if "://" in self.url_text else \
            self.url.origin.split("://", 1)[1]

    def usage(self, about, count_help, reply_help, takes_args, status):
        f = sys.stderr if status else sys.stdout
        f.write(f"usage: {self.name} [OPTION]...{' [ARGUMENT]...' if takes_args else ''}\n"
                f"{about}\n  -h, --help     print this help\n")
        f.write("  -a     URL     [amqp[s]://][user[:password]@]host[:port][/address], "
                "by default\n                 localhost:5672/examples\n")
        if count_help:
            f.write(f"  -m     COUNT   {count_help}\n")
        if reply_help:
            f.write(f"  -r     ADDRESS {reply_help}\n")
        f.write("  --ca   FILE    for amqps://: trust the CA in FILE (PEM) besides the "
                "platform's\n  --cert FILE    for amqps://: this program's certificate "
                "(PEM), with --key\n  --key  FILE    the private key (PEM) of --cert\n")
        sys.exit(status)

    def tls_server(self):
        """The listener's TLS options (its certificate) from the command line."""
        return {k: v for k, v in self.tls.items() if k in ("cert", "key")}

    def connect(self, loop, url, handler=None):
        """Connects as the C examples do (TLS files from the command line)."""
        return loop.connect(url, handler=handler, **self.tls)

    def fail(self, what, why):
        """Reports the first failure ("PROGRAM: WHAT PEER: WHY") unless done;
        the caller then finishes."""
        if not self.done:
            sys.stderr.write(f"{self.name}: {what} {self.peer}: {why}\n")
            self.exit_code = 1

    def run(self, loop, finish):
        """Runs the loop; on Ctrl-C, finishes (closes everything) and runs on
        until it is closed. Returns the exit status."""
        while True:
            try:
                loop.run()
                break
            except KeyboardInterrupt:
                self.done = True
                finish()
        sys.stdout.flush()
        return self.exit_code


def close(*objects):
    """Closes each connection, listener or timer that is still there (as the
    C examples' finish() does, ignoring the ones already gone)."""
    for o in objects:
        if o is None:
            continue
        try:
            o.cancel() if isinstance(o, muon.Timer) else o.close()
        except muon.StaleHandleError:
            pass


class Failures:
    """The loop's handler: what the tutorial's closed() leaves out. A
    message the peer did not accept, a connection lost or never made, each
    is reported and ends the program with status 1."""

    def __init__(self, example, finish):
        self.example = example
        self._finish = finish

    def finish(self):
        """Finishes the program, unless it has finished already."""
        if not self.example.done:
            self.example.done = True
            self._finish()

    def on_connection_remote_close(self, event):
        self.closed_by_peer(event, False)

    def on_link_remote_close(self, event):
        self.closed_by_peer(event, True)

    def closed_by_peer(self, event, link):
        """Closed by the peer: with an error, the tutorial's "Closed due to";
        a connection without one, before the end, too."""
        c = event.condition
        if c is not None:
            print("Closed due to %s" % c)
        if c is not None or not link:
            self.example.fail("link closed by" if link else "connection closed by",
                              str(c) if c else "closed without an error before the end")
            self.finish()

    def on_rejected(self, event):
        self.example.fail("message rejected by", str(event.condition or "rejected"))
        self.finish()

    def on_released(self, event):
        self.example.fail("message not delivered by", str(event.condition or "released"))
        self.finish()

    def on_modified(self, event):
        self.example.fail("message not delivered by", str(event.condition or "modified"))
        self.finish()

    def on_disconnected(self, event):
        opened = event.connection is not None and event.connection.remote_container
        self.example.fail("disconnected from" if opened else "cannot connect to",
                          str(event.condition))
        self.finish()
