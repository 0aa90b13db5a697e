#!/usr/bin/env python3
"""peer.py: an independent SCRAM peer for muon, built on PyPI's `scramp`.

It speaks just enough AMQP 1.0 SASL (spec part 5.3) by hand to run one SASL
exchange over a real socket, so that muon's SCRAM is checked against an
implementation that shares no code with it (tests/sasl_interop.rs runs it).

    peer.py client --mech MECH --user U --password P --port N [--force]
        Connects to 127.0.0.1:N (a muon listener), prints the offered
        mechanisms ("mechanisms: A B C"), runs the scramp client (or PLAIN /
        ANONYMOUS by hand), checks the server signature from the outcome's
        additional-data, then sends the AMQP header and waits for the
        server's. Prints "OK" (exit 0) or "FAILED <reason>" (exit 1).
        With --force, MECH is tried even when the server does not offer it.

    peer.py server --mech MECH --user U --password P --port 0 [--bad-signature]
                   [--final-in-challenge] [--bare-symbol] [--omit-final]
        Listens on 127.0.0.1 (prints "listening on PORT"), offers only MECH
        (as a one-element symbol array, or a bare symbol with --bare-symbol),
        runs the scramp server for one client, sends the server-final in the
        outcome's additional-data (or, with --final-in-challenge, in a last
        sasl-challenge before a bare ok outcome; with a wrong v= under
        --bad-signature; none at all under --omit-final),
        prints "AUTH OK" or "AUTH FAILED <reason>", then waits for the
        client's AMQP header and prints "AMQP header: yes" or
        "AMQP header: no (<why>)". Exit 0 unless the peer itself broke.

Every socket wait is bounded (--timeout seconds, default 10).
"""

import argparse
import base64
import socket
import struct
import sys

import scramp
from scramp.utils import ServerError

SASL_HEADER = b"AMQP\x03\x01\x00\x00"
AMQP_HEADER = b"AMQP\x00\x01\x00\x00"

# Descriptor codes of the SASL performatives (spec 5.3.3).
MECHANISMS, INIT, CHALLENGE, RESPONSE, OUTCOME = 0x40, 0x41, 0x42, 0x43, 0x44
NAMES = {MECHANISMS: "sasl-mechanisms", INIT: "sasl-init", CHALLENGE: "sasl-challenge",
         RESPONSE: "sasl-response", OUTCOME: "sasl-outcome"}
OUTCOME_OK, OUTCOME_AUTH = 0, 1


class Failed(Exception):
    """The exchange failed; the message says why."""


# ---- AMQP types (spec part 1), only what SASL frames carry -------------------------


class Symbol(str):
    """An AMQP symbol (a str that encodes as 0xa3/0xb3)."""


class Described:
    def __init__(self, descriptor, value):
        self.descriptor, self.value = descriptor, value


def encode(v):
    if v is None:
        return b"\x40"
    if isinstance(v, bool):
        return b"\x41" if v else b"\x42"
    if isinstance(v, Described):
        return b"\x00" + encode_ulong(v.descriptor) + encode(v.value)
    if isinstance(v, Symbol):
        b = v.encode("ascii")
        return (b"\xa3" + bytes([len(b)]) if len(b) < 256 else b"\xb3" + struct.pack(">I", len(b))) + b
    if isinstance(v, str):
        b = v.encode("utf-8")
        return (b"\xa1" + bytes([len(b)]) if len(b) < 256 else b"\xb1" + struct.pack(">I", len(b))) + b
    if isinstance(v, (bytes, bytearray)):
        b = bytes(v)
        return (b"\xa0" + bytes([len(b)]) if len(b) < 256 else b"\xb0" + struct.pack(">I", len(b))) + b
    if isinstance(v, int) and isinstance(v, UByte):
        return b"\x50" + bytes([int(v)])
    if isinstance(v, SymbolArray):
        body = b"".join(struct.pack(">I", len(s)) + s for s in (x.encode("ascii") for x in v))
        # array32 of sym32: size covers count + constructor + elements.
        return b"\xf0" + struct.pack(">II", 4 + 1 + len(body), len(v)) + b"\xb3" + body
    if isinstance(v, list):
        body = b"".join(encode(x) for x in v)
        return b"\xd0" + struct.pack(">II", 4 + len(body), len(v)) + body
    raise TypeError(f"cannot encode {v!r}")


class UByte(int):
    pass


class SymbolArray(list):
    pass


def encode_ulong(n):
    return b"\x53" + bytes([n]) if n < 256 else b"\x80" + struct.pack(">Q", n)


class Decoder:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Failed("truncated AMQP value")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def value(self):
        code = self.u8()
        if code == 0x00:
            descriptor = self.value()
            return Described(descriptor, self.value())
        return self.body(code)

    def body(self, code):
        fixed = {0x40: None, 0x41: True, 0x42: False, 0x43: 0, 0x44: 0}
        if code in fixed:
            return fixed[code]
        if code == 0x56:
            return self.u8() != 0
        if code in (0x50, 0x52, 0x53):
            return self.u8()
        if code == 0x51 or code == 0x54:
            return struct.unpack(">b", self.take(1))[0]
        if code == 0x60:
            return struct.unpack(">H", self.take(2))[0]
        if code == 0x70:
            return self.u32()
        if code == 0x71:
            return struct.unpack(">i", self.take(4))[0]
        if code == 0x80:
            return struct.unpack(">Q", self.take(8))[0]
        if code == 0x81:
            return struct.unpack(">q", self.take(8))[0]
        if code in (0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3):
            n = self.u8() if code < 0xb0 else self.u32()
            raw = self.take(n)
            if code in (0xa0, 0xb0):
                return raw
            return Symbol(raw.decode("ascii")) if code in (0xa3, 0xb3) else raw.decode("utf-8")
        if code == 0x45:
            return []
        if code in (0xc0, 0xd0, 0xc1, 0xd1):
            if code in (0xc0, 0xc1):
                self.u8()
                count = self.u8()
            else:
                self.u32()
                count = self.u32()
            items = [self.value() for _ in range(count)]
            if code in (0xc1, 0xd1):
                return dict(zip(items[::2], items[1::2]))
            return items
        if code in (0xe0, 0xf0):
            if code == 0xe0:
                self.u8()
                count = self.u8()
            else:
                self.u32()
                count = self.u32()
            elem = self.u8()
            if elem == 0x00:
                raise Failed("described arrays are not supported here")
            return [self.body(elem) for _ in range(count)]
        raise Failed(f"unsupported AMQP type code 0x{code:02x}")


# ---- frames (spec 2.3, 5.3.1) -------------------------------------------------------


class Conn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    def recv_exact(self, n, what):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Failed(f"timed out waiting for {what}")
            except OSError as e:
                raise Failed(f"{what}: {e}")
            if not chunk:
                raise Failed(f"connection closed while waiting for {what}")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def send_sasl(self, code, fields):
        body = encode(Described(code, fields))
        self.send(struct.pack(">IBBH", 8 + len(body), 2, 1, 0) + body)

    def read_sasl(self, what):
        """Reads one SASL frame; returns (code, fields list)."""
        size, doff, ftype, _ = struct.unpack(">IBBH", self.recv_exact(8, what))
        if ftype != 1:
            raise Failed(f"frame of type {ftype} where a SASL frame ({what}) was due")
        if size < 8 or doff < 2 or doff * 4 > size:
            raise Failed(f"malformed frame header (size {size}, doff {doff})")
        rest = self.recv_exact(size - 8, what)
        body = rest[doff * 4 - 8:]
        v = Decoder(body).value()
        if not isinstance(v, Described) or not isinstance(v.value, list):
            raise Failed(f"SASL frame body is not a described list ({what})")
        return v.descriptor, v.value

    def expect_header(self, header, what):
        got = self.recv_exact(8, what)
        if got != header:
            raise Failed(f"expected {what} {header!r}, got {got!r}")


def field(fields, i):
    return fields[i] if i < len(fields) else None


def as_list(v):
    # A multiple field may be sent as a single value (spec 1.6.x, "multiple").
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# ---- client -------------------------------------------------------------------------


def run_client(a):
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    c = Conn(sock, a.timeout)
    c.send(SASL_HEADER)
    c.expect_header(SASL_HEADER, "the SASL protocol header")
    code, fields = c.read_sasl("sasl-mechanisms")
    if code != MECHANISMS:
        raise Failed(f"expected sasl-mechanisms, got {NAMES.get(code, code)}")
    offered = [str(m) for m in as_list(field(fields, 0))]
    print("mechanisms: " + " ".join(offered), flush=True)
    if a.mech not in offered and not a.force:
        raise Failed(f"mechanism {a.mech} not offered")

    scram = None
    if a.mech.startswith("SCRAM-"):
        scram = scramp.ScramClient([a.mech], a.user, a.password)
        initial = scram.get_client_first().encode("utf-8")
    elif a.mech == "PLAIN":
        initial = b"\0" + a.user.encode() + b"\0" + a.password.encode()
    elif a.mech == "ANONYMOUS":
        initial = b"anonymous"
    else:
        raise Failed(f"mechanism {a.mech} is not supported by this peer")
    c.send_sasl(INIT, [Symbol(a.mech), initial, None])

    server_first_seen = server_final_seen = False
    while True:
        code, fields = c.read_sasl("sasl-challenge or sasl-outcome")
        if code == CHALLENGE:
            data = field(fields, 0) or b""
            if scram is None or server_final_seen:
                raise Failed("unexpected challenge")
            if not server_first_seen:
                server_first_seen = True
                try:
                    scram.set_server_first(data.decode("utf-8"))
                except scramp.ScramException as e:
                    raise Failed(f"bad server-first: {e}")
                c.send_sasl(RESPONSE, [scram.get_client_final().encode("utf-8")])
            else:
                # Server-final in a challenge: check it, answer empty.
                _check_server_final(scram, data)
                server_final_seen = True
                c.send_sasl(RESPONSE, [b""])
        elif code == OUTCOME:
            outcome = field(fields, 0)
            extra = field(fields, 1)
            if outcome != OUTCOME_OK:
                said = f" ({extra.decode('utf-8', 'replace')})" if extra else ""
                raise Failed(f"outcome {outcome}{said}")
            if scram is not None and not server_final_seen:
                if not extra:
                    raise Failed("ok outcome without the server-final (v=)")
                _check_server_final(scram, extra)
            break
        else:
            raise Failed(f"unexpected {NAMES.get(code, code)}")

    # The server must now move on to AMQP: our header, then its own.
    c.send(AMQP_HEADER)
    c.expect_header(AMQP_HEADER, "the AMQP protocol header")
    sock.close()
    print("OK", flush=True)


def _check_server_final(client, data):
    try:
        client.set_server_final(data.decode("utf-8"))
    except scramp.ScramException as e:
        raise Failed(f"server signature rejected: {e}")


# ---- server -------------------------------------------------------------------------


def run_server(a):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", a.port))
    lst.listen(1)
    lst.settimeout(a.timeout)
    print(f"listening on {lst.getsockname()[1]}", flush=True)
    try:
        sock, _ = lst.accept()
    except socket.timeout:
        raise Failed("no client connected")
    lst.close()
    c = Conn(sock, a.timeout)
    c.expect_header(SASL_HEADER, "the SASL protocol header")
    c.send(SASL_HEADER)
    # A "multiple" field may carry one value bare instead of an array.
    offer = Symbol(a.mech) if a.bare_symbol else SymbolArray([Symbol(a.mech)])
    c.send_sasl(MECHANISMS, [offer])

    mech = scramp.ScramMechanism(a.mech)
    salt, stored_key, server_key, iterations = mech.make_auth_info(a.password, iteration_count=4096)

    def auth_fn(user):
        if user != a.user:
            raise scramp.ScramException(f"unknown user {user!r}", ServerError.UNKNOWN_USER)
        return salt, stored_key, server_key, iterations

    server = mech.make_server(auth_fn)
    code, fields = c.read_sasl("sasl-init")
    if code != INIT:
        raise Failed(f"expected sasl-init, got {NAMES.get(code, code)}")
    chosen = str(field(fields, 0))
    try:
        if chosen != a.mech:
            raise scramp.ScramException(f"mechanism {chosen} not offered")
        server.set_client_first((field(fields, 1) or b"").decode("utf-8"))
        c.send_sasl(CHALLENGE, [server.get_server_first().encode("utf-8")])
        code, fields = c.read_sasl("sasl-response")
        if code != RESPONSE:
            raise scramp.ScramException(f"expected sasl-response, got {NAMES.get(code, code)}")
        server.set_client_final((field(fields, 0) or b"").decode("utf-8"))
        final = server.get_server_final()
    except scramp.ScramException as e:
        # RFC 5802 server-error ("e=..."), if scramp named one.
        error = f"e={e.server_error.value}".encode() if e.server_error else None
        c.send_sasl(OUTCOME, [UByte(OUTCOME_AUTH), error])
        print(f"AUTH FAILED {e}", flush=True)
        await_amqp_header(c)
        return
    if a.bad_signature:
        sig = bytearray(base64.b64decode(final[2:]))
        sig[0] ^= 0xFF
        final = "v=" + base64.b64encode(bytes(sig)).decode("ascii")
    if a.omit_final:
        # An ok outcome that does not prove the server knows the password.
        c.send_sasl(OUTCOME, [UByte(OUTCOME_OK), None])
    elif a.final_in_challenge:
        # Server-final as a last challenge, answered empty, then a bare ok.
        c.send_sasl(CHALLENGE, [final.encode("utf-8")])
        try:
            code, fields = c.read_sasl("the empty sasl-response to the server-final")
        except Failed as e:
            print(f"AUTH OK\nAMQP header: no ({e})", flush=True)
            return
        if code != RESPONSE or field(fields, 0):
            raise Failed(f"expected an empty sasl-response, got {NAMES.get(code, code)} {fields!r}")
        c.send_sasl(OUTCOME, [UByte(OUTCOME_OK), None])
    else:
        c.send_sasl(OUTCOME, [UByte(OUTCOME_OK), final.encode("utf-8")])
    print("AUTH OK", flush=True)
    await_amqp_header(c)


def await_amqp_header(c):
    try:
        c.expect_header(AMQP_HEADER, "the AMQP protocol header")
        print("AMQP header: yes", flush=True)
    except Failed as e:
        print(f"AMQP header: no ({e})", flush=True)
    c.sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["client", "server"])
    p.add_argument("--mech", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--force", action="store_true")
    p.add_argument("--bad-signature", action="store_true")
    p.add_argument("--final-in-challenge", action="store_true")
    p.add_argument("--bare-symbol", action="store_true")
    p.add_argument("--omit-final", action="store_true")
    a = p.parse_args()
    try:
        (run_client if a.mode == "client" else run_server)(a)
    except Failed as e:
        print(f"FAILED {e}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
