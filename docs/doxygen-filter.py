#!/usr/bin/env python3
"""Doxygen input filter for include/muon.h (docs/Doxyfile's INPUT_FILTER).

The header's comments are Rust doc comments, Markdown, carried over by
cbindgen. Doxygen reads Markdown too, but not quite as CommonMark does: it
runs its own commands (`\\x..`, `@int`) inside code spans and reads a span
with an apostrophe in it (`b'\\x00'`) as a typographic quote. So a code
span holding a backslash, an `@` or an apostrophe is rewritten as
<code>...</code> with those characters escaped for Doxygen; other spans are
left to Doxygen's Markdown (which links the names it knows). Lines are kept
one for one, so Doxygen's warnings point at the header's own lines.
"""
import re
import sys

SPAN = re.compile(r"`([^`]+)`")
TROUBLE = re.compile(r"[\\@']")
ESCAPES = {"\\": "\\\\", "@": "\\@", "&": "&amp;", "<": "&lt;", ">": "&gt;", "*": "&#42;"}


def code(match):
    text = match.group(1)
    if not TROUBLE.search(text):
        return match.group(0)
    return "<code>" + "".join(ESCAPES.get(c, c) for c in text) + "</code>"


with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        sys.stdout.write(SPAN.sub(code, line))
