"""The one normaliser every text field passes on its way into a dataset: :func:`clean_field`.

Why: text comes from saved pages, APIs, TSVs and JSON files written by others. One lone surrogate
(``"\\ud800"``, legal in JSON, not encodable as UTF-8) used to stop a whole build when its movie was
written; a bidi override (U+202E) or an ESC in a genre string reorders or recolours what a terminal
or a datasheet shows. Each builder source's :class:`~mmimdb2.builder.sources.base.Record` and the
loader's parse of a movie JSON go through this function, so every field holds encodable, visible,
NFC text.
"""

from __future__ import annotations

import unicodedata

#: Bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069): invisible, and they
#: reorder the text around them.
BIDI_CONTROLS: frozenset[str] = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))

#: Control characters kept in a field: tab and newline (a carriage return becomes a newline).
KEPT_CONTROLS: frozenset[str] = frozenset("\t\n")


def _count(n: int, what: str, done: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'} {done}"


def clean_field_report(text: str) -> tuple[str, str | None]:
    """``(clean_field(text), why)``: ``why`` says what was replaced or removed (``None`` when only
    the NFC form or line endings changed), for the warning the caller records."""
    if text.isascii() and text.isprintable():
        return text, None  # the common case, kept cheap
    # a surrogate pair spelled as two code points is one character; a lone one is U+FFFD
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    surrogates = sum(1 for c in text if "\ud800" <= c <= "\udfff") - 2 * (len(text) - len(joined))
    s = joined.replace("\r\n", "\n").replace("\r", "\n")
    bidi = controls = 0
    out = []
    for c in s:
        if c in BIDI_CONTROLS:
            bidi += 1
        elif c not in KEPT_CONTROLS and unicodedata.category(c) == "Cc":
            controls += 1
        else:
            out.append(c)
    cleaned = unicodedata.normalize("NFC", "".join(out))
    why = [
        _count(n, what, done)
        for n, what, done in (
            (surrogates, "lone surrogate", "replaced with U+FFFD"),
            (bidi, "bidi control", "removed"),
            (controls, "control character", "removed"),
        )
        if n
    ]
    return cleaned, ", ".join(why) or None


def clean_field(text: str) -> str:
    """``text`` safe to store and show: lone surrogates replaced by U+FFFD, bidi overrides and
    isolates removed, control characters (C0, DEL, C1) removed except tab and newline (``\\r\\n``
    and ``\\r`` become ``\\n``), then NFC."""
    return clean_field_report(text)[0]


def printable(text: str) -> str:
    """``text`` for a terminal, on one line: non-printable characters (newlines, ESC, bidi
    controls, lone surrogates ...) shown escaped (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def ascii_int(value: object, *, max_digits: int = 18) -> int | None:
    """The int written by ``value``, a string of ASCII digits only; ``None`` for anything else.

    ``str.isdigit`` accepts "19²²" and "١٩٩٠", which ``int()`` then refuses or reads; signs,
    spaces and strings longer than ``max_digits`` are refused too (``int("9" * 5000)`` raises)."""
    if isinstance(value, str) and 0 < len(value) <= max_digits and value.isascii() and value.isdigit():
        return int(value)
    return None
