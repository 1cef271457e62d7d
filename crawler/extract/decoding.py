"""A page's bytes as text: the charset it declares when the bytes really are in it, else
UTF-8, else what detection finds."""

from __future__ import annotations

import contextlib

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, resolve_encoding

_LATIN_SINGLE_BYTE = {
    "cp1250",
    "cp1252",
    "latin_1",
    "iso8859_2",
    "iso8859_15",
    "iso8859_9",
    "cp1254",
    "mac_roman",
    "iso8859_16",
    "cp1257",
    "iso8859_13",
}


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode a page: the declared charset (HTTP header, then the page's own meta) when the
    bytes really are in it, else UTF-8, else what charset detection finds.

    Sites lie about charsets (a windows-1252 page served as UTF-8), so a declaration is only
    trusted when the body decodes under it without errors. The reverse lie (a UTF-8 page
    declared as Latin-1 or windows-1252, which decode any bytes) shows as UTF-8's multi-byte
    sequences, which Latin text essentially never forms: such a body is read as UTF-8.
    """
    candidates = [declared, html_body_declared_encoding(body[:4096]), "utf-8"]
    for candidate in candidates:
        encoding = resolve_encoding(candidate) if candidate else None
        if not encoding:
            continue
        if encoding in _LATIN_SINGLE_BYTE and not body.isascii():
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode("utf-8")
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding not in _LATIN_SINGLE_BYTE:
        return str(best)
    # Detectors cannot tell the Latin single-byte code pages apart on a little text (ñ in
    # windows-1252 is ń in windows-1250); the web's usual one, as HTML5 assumes, is 1252.
    try:
        return body.decode("windows-1252")
    except UnicodeDecodeError:
        return str(best) if best is not None else body.decode("windows-1252", errors="replace")
