"""``muon.Url``: a connection URL taken apart by the C library's parser."""

from __future__ import annotations

from typing import Optional

from ._muon import ffi, lib

__all__ = ["Url"]


def _s(p: object) -> Optional[str]:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8")  # type: ignore[arg-type]


class Url:
    """``[scheme://][user[:password]@]host[:port][/address]``, parsed as
    ``EventLoop.connect`` parses it: ``scheme``, ``user``, ``password``,
    ``host``, ``port``, ``address`` (the path, percent-decoded) and
    ``origin`` (``scheme://host:port``). A bad URL raises ValueError saying
    which part is wrong."""

    __slots__ = ("text", "scheme", "user", "password", "host", "port", "address", "origin")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"a URL is a str, not {type(text).__name__}")
        out = ffi.new("muon_url **")
        b = text.encode("utf-8")
        if b"\0" in b or lib.muon_url_parse(b, out) != 0:
            raise ValueError(_s(lib.muon_last_error()) or f"invalid URL {text!r}")
        u = out[0]
        try:
            self.text = text
            self.scheme = _s(lib.muon_url_scheme(u)) or "amqp"
            self.user = _s(lib.muon_url_user(u))
            self.password = _s(lib.muon_url_password(u))
            self.host = _s(lib.muon_url_host(u)) or ""
            self.port = int(lib.muon_url_port(u))
            self.address = _s(lib.muon_url_address(u))
            self.origin = _s(lib.muon_url_origin(u)) or ""
        finally:
            lib.muon_url_free(u)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Url({self.text!r})"
