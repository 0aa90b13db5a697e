"""``muon.proton.handlers``: Proton's ``MessagingHandler``."""

from __future__ import annotations

__all__ = ["MessagingHandler"]


class MessagingHandler:
    """A base for Proton-style handlers: define the ``on_*`` methods wanted
    (``on_start``, ``on_sendable``, ``on_message``, ``on_accepted``,
    ``on_rejected``, ``on_released``, ``on_settled``,
    ``on_connection_opened``, ``on_connection_closed``,
    ``on_connection_error``, ``on_link_opening``, ``on_link_opened``,
    ``on_link_closed``, ``on_link_error``, ``on_disconnected``,
    ``on_timer``). ``prefetch`` is the credit window of the receivers it
    handles, ``auto_accept`` accepts each message after ``on_message``."""

    def __init__(self, prefetch: int = 10, auto_accept: bool = True, auto_settle: bool = True,
                 peer_close_is_error: bool = False) -> None:
        self.prefetch = prefetch
        self.auto_accept = auto_accept
        self.auto_settle = auto_settle
        self.peer_close_is_error = peer_close_is_error
