"""Errors raised by the binding."""

from __future__ import annotations

from ._muon import ffi, lib

__all__ = ["MuonError", "StaleHandleError", "check"]


class MuonError(Exception):
    """A call into the C library failed: ``code`` is its ``muon_result`` value
    and ``name`` its name (``MUON_RESULT_CLOSED``, ...)."""

    def __init__(self, code: int, what: str, detail: str = "") -> None:
        self.code = code
        self.name = ffi.string(lib.muon_result_name(code)).decode()
        text = ffi.string(lib.muon_result_message(code)).decode()
        super().__init__(f"{what}: {detail or text} ({self.name})")


class StaleHandleError(MuonError):
    """The connection, link, delivery, listener or timer has had its final
    event: it no longer exists, and nothing can be done with it."""


def check(rc: int, what: str) -> None:
    """Raises the error for a C result code other than OK."""
    if rc == 0:
        return
    if rc == lib.MUON_RESULT_STALE_HANDLE:
        raise StaleHandleError(rc, what, "the object is gone (its final event has passed)")
    if rc == lib.MUON_RESULT_NULL_ARGUMENT:
        raise MuonError(rc, what, "the object was never opened or is gone")
    last = lib.muon_last_error()
    detail = ffi.string(last).decode("utf-8", "replace") if last != ffi.NULL else ""
    raise MuonError(rc, what, detail)
