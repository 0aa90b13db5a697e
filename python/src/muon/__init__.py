"""muon: AMQP 1.0 messaging on muon's Rust engine, with the reactive API of
Qpid Proton's Python tutorial.

>>> import muon
>>> class HelloWorld:
...     def __init__(self, loop, url, address):
...         self.conn = loop.connect(url, handler=self)
...         self.address = address
...     def on_connection_remote_open(self, event):
...         self.conn.receiver(self.address, handler=self)
...         self.conn.sender(self.address, handler=self)
...     def on_link_flow(self, event):
...         event.sender.send(muon.Message(body="Hello World!"))
...         event.sender.close()
...     def on_message(self, event):
...         print(event.message.body)
...         event.connection.close()
"""

from ._errors import MuonError, StaleHandleError
from ._loop import (
    EVENT_NAMES, Acceptor, Condition, Connection, Delivery, Event, EventLoop, Link, Receiver,
    Sender, Terminus, Timer,
)
from ._message import Message
from ._url import Url
from ._muon import ffi as _ffi
from ._muon import lib as _lib
from .handlers import (
    FlowController, Handshaker, IncomingMessageHandler, OutgoingMessageHandler,
)
from .types import (
    AMQPType, Array, Described, byte, char, decimal32, decimal64, decimal128, float32, int32,
    short, symbol, timestamp, ubyte, uint, ulong, ushort,
)

__version__ = "0.1.0"
#: The version of the muon C library built into this package.
LIBRARY_VERSION: str = _ffi.string(_lib.muon_py_library_version).decode()

__all__ = [
    "EventLoop", "Event", "Connection", "Sender", "Receiver", "Link", "Delivery", "Acceptor",
    "Timer", "Condition", "Terminus", "Message", "Url", "MuonError", "StaleHandleError",
    "Handshaker", "FlowController", "IncomingMessageHandler", "OutgoingMessageHandler",
    "AMQPType", "Array", "Described", "symbol", "char", "timestamp", "ubyte", "ushort", "uint",
    "ulong", "byte", "short", "int32", "float32", "decimal32", "decimal64", "decimal128",
    "EVENT_NAMES", "__version__", "LIBRARY_VERSION",
]
