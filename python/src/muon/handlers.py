"""The tutorial's ready-made handlers.

muon's C library has the tutorial's Handshaker and FlowController built in
(every connection and link a peer opens is answered, and every receiver is
granted credit, a window of 10 by default): these classes say so in the
tutorial's words and set the window."""

from __future__ import annotations

from typing import Any

__all__ = ["Handshaker", "FlowController", "IncomingMessageHandler", "OutgoingMessageHandler"]


class Handshaker:
    """Answers the peer's opens and closes (muon's built-in behaviour: this
    handler marks it, as the tutorial's ``EventLoop(..., Handshaker())``)."""


class FlowController:
    """Keeps ``window`` credit granted on receivers a peer opens to us."""

    def __init__(self, window: int = 10) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window < 2**32:
            raise ValueError(f"FlowController takes a window from 0 to 2**32-1, not {window!r}")
        self.window = window

    def on_link_remote_open(self, event: Any) -> None:
        r = event.receiver
        if r is not None:
            r.set_credit_window(self.window)


class IncomingMessageHandler:
    """A base for receivers' handlers: ``on_message(event)``; with
    ``auto_accept`` (default) each message is accepted when ``on_message``
    returns without having settled it."""

    def __init__(self, auto_accept: bool = True) -> None:
        self.auto_accept = auto_accept


class OutgoingMessageHandler:
    """A base for senders' handlers: ``on_link_flow``, ``on_accepted``,
    ``on_rejected``, ``on_released``, ``on_settled``."""
