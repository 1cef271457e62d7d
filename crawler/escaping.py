"""Stored text made safe for each place presswatch writes it.

Every stored byte comes from sites presswatch does not control. New text is cleaned where it
enters, but a database may hold rows from before that, or written by another version, so each
exit passes stored text through the function for its medium here, and is safe whatever the
database holds:

- ``csv_cell``: a spreadsheet cell (CSV injection, CWE-1236);
- ``terminal_text``: a terminal, or any human-readable output (text, Markdown, logs);
- ``header_text``: an email header (the email package then encodes it per RFC 2047);
- ``xml_text``: XML 1.0 (Atom) and HTML;
- ``json_safe``: a JSON document encoded as UTF-8;
- ``file_name_part``: one component of a file name.

All of them are pure functions of their argument.
"""

from __future__ import annotations

import re
from typing import Any

# A str can hold surrogate code points (from a bad decoding, or a JSON ``\\ud800``), which
# no UTF-8 encoder takes: every exit turns them into U+FFFD REPLACEMENT CHARACTER.
_SURROGATES = re.compile("[\ud800-\udfff]")

# ECMA-48 control sequences: CSI, as ESC [ or the C1 control U+009B (colours, cursor moves,
# screen clears); the string commands OSC, DCS, SOS, PM and APC (window titles, hyperlinks,
# clipboard writes) up to BEL or ST; the other escape sequences (ESC c resets the terminal).
# A string command without its terminator, or in its C1 form, is not matched: its ESC or C1
# control goes with the other controls and its text stays as text (which keeps this linear:
# text decoded with the wrong charset is full of C1 controls).
_ESCAPE_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]
    | \x1b[\]PX^_] [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)
    | \x1b [\x20-\x2f]* [\x30-\x7e]
    """,
    re.VERBOSE,
)
# Characters that end a line somewhere (a terminal, str.splitlines, a mail or feed reader).
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional embedding, override
# and isolate controls (U+202A-U+202E, U+2066-U+2069) that make text display in another order
# than it reads ("Trojan Source", CVE-2021-42574).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# What XML 1.0 allows (its Char production) less C1 controls and DEL, which it allows but
# which are never text, and less the bidirectional controls above.
_NOT_XML = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2029\u202f-\u2065\u206a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

# Cells a spreadsheet reads as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NOT_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9_.-]+")
FILE_NAME_PART_LENGTH = 100


def valid_unicode(text: str) -> str:
    """``text`` with every surrogate code point replaced by U+FFFD: encodable as UTF-8."""
    return _SURROGATES.sub("\ufffd", text)


def csv_cell(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula: one starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a ``'`` in front (OWASP's advice for CSV
    injection, CWE-1236), which spreadsheets show as text. Quoting (delimiters, quotes,
    newlines) is the csv module's. Apply it to text columns only: numbers stay numbers."""
    text = valid_unicode(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def terminal_text(text: str, *, multiline: bool = False) -> str:
    """``text`` as a terminal may show it: no escape or control sequence (removed whole), no
    C0 or C1 control character, no bidirectional override or isolate control, no surrogate.
    One line unless ``multiline``: every line break (CR, LF, VT, FF, NEL, U+2028, U+2029 ...)
    and tab becomes a space, one for one, so a stored title cannot forge a line of output.
    With ``multiline``, line breaks become LF and tabs stay."""
    text = _ESCAPE_SEQUENCES.sub("", valid_unicode(text))
    text = _LINE_BREAKS.sub("\n" if multiline else " ", text)
    if not multiline:
        text = text.replace("\t", " ")
    return _CONTROLS.sub("", text)


def header_text(text: str, *, max_length: int | None = None) -> str:
    """``text`` for an email header: one line with no control character (``terminal_text``),
    runs of whitespace made one space, and no ``=?`` (written ``= ?``), so that no part of it
    can be read as an RFC 2047 encoded word (which a mail client would decode, line breaks and
    all). At most ``max_length`` characters, the last being "…" when cut. Set it as a header
    of an ``email.message.EmailMessage`` (default policy), which encodes non-ASCII text per
    RFC 2047 and folds long lines."""
    text = " ".join(terminal_text(text).split()).replace("=?", "= ?")
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def xml_text(text: str) -> str:
    """``text`` with only characters XML 1.0 allows (no C0 control but tab, LF and CR, no
    U+FFFE or U+FFFF), no C1 control and no bidirectional override or isolate control (which
    a feed reader or mail client would obey): well-formed as XML character data or an
    attribute value once the XML serialiser has escaped ``<``, ``&`` and quotes, and in HTML
    once ``html.escape`` has. Escape sequences go whole (not leaving their ``[31m`` as text);
    surrogates become U+FFFD."""
    return _NOT_XML.sub("", _ESCAPE_SEQUENCES.sub("", valid_unicode(text)))


def json_safe(value: Any) -> Any:
    """``value`` (made of dicts, lists, tuples, strings, numbers, booleans and None) with
    surrogates in its strings and keys replaced by U+FFFD, so that
    ``json.dumps(value, ensure_ascii=False).encode("utf-8")`` cannot fail and the document
    has no lone surrogate escape that strict parsers refuse. Tuples become lists, as JSON
    has them; JSON escapes the control characters itself."""
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def file_name_part(name: str, fallback: str = "digest") -> str:
    """``name`` as one component of a file name: ASCII letters, digits, ``-``, ``_`` and
    ``.`` only (any run of others becomes ``-``), not starting with ``.`` or ``-``, at most
    FILE_NAME_PART_LENGTH characters; ``fallback`` if nothing is left. It holds no ``/`` or
    ``\\`` and is never ``.`` or ``..``, so a file named with it stays in its directory."""
    part = _NOT_IN_FILE_NAMES.sub("-", name).lstrip(".-")[:FILE_NAME_PART_LENGTH]
    return part or fallback
