"""``muon.proton``: the part of Qpid Proton's Python API that Proton's own
example programs use, on muon. A program written for Proton runs on muon
with its imports changed::

    from muon.proton import Message            # was: from proton import Message
    from muon.proton.handlers import MessagingHandler
    from muon.proton.reactor import Container

What is here: ``Message`` (muon's, printed as Proton prints one), ``Url``,
the AMQP type wrappers (``symbol``, ``ulong``, ...), ``Condition``,
``Described``, ``Array``; ``handlers.MessagingHandler``;
``reactor.Container`` with ``connect``, ``listen``, ``create_sender``,
``create_receiver``, ``schedule``, ``run`` and ``stop``. Events carry
``container``, ``connection``, ``link``, ``sender``, ``receiver``,
``delivery`` and ``message``.
"""

from __future__ import annotations

from typing import Optional

from .. import _url
from .._errors import MuonError
from .._loop import Condition
from .._message import Message
from ..types import (
    Array, Described, byte, char, decimal32, decimal64, decimal128, float32, int32, short,
    symbol, timestamp, ubyte, uint, ulong, ushort,
)

__all__ = [
    "Message", "Url", "Condition", "ProtonException", "Described", "Array", "symbol", "char",
    "timestamp", "ubyte", "ushort", "uint", "ulong", "byte", "short", "int32", "float32",
    "decimal32", "decimal64", "decimal128",
]

ProtonException = MuonError


class Url:
    """A URL as Proton's ``Url`` shows it: ``amqp://host:port/path``, with
    ``scheme``, ``username``, ``password``, ``host``, ``port`` and ``path``."""

    def __init__(self, url: object = None, defaults: bool = True, **kwargs: object) -> None:
        u = _url.Url(str(url) if url is not None else "localhost")
        self.scheme: str = u.scheme
        self.username: Optional[str] = u.user
        self.password: Optional[str] = u.password
        self.host: str = u.host
        self.port: int = u.port
        self.path: Optional[str] = u.address
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = ""
        if self.username:
            auth = self.username + (f":{self.password}" if self.password else "") + "@"
        path = f"/{self.path}" if self.path else ""
        return f"{self.scheme}://{auth}{host}:{self.port}{path}"

    def __repr__(self) -> str:
        return f"Url('{self}')"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    __hash__ = None  # type: ignore[assignment]
