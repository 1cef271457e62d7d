"""Text from strangers' pages, cleaned once at the edge, before extraction, dedup and flagging.

A page can carry what no reader should get: terminal escape sequences pasted from a CMS,
control characters, invalid code points, and the bidirectional controls that make a headline
display in another order than it reads. trafilatura discards a page whose kept text holds a
control character (its XML tree cannot carry one: the whole article was lost for one ``ESC`` in
its headline), and every exit would have to guess what it is given. So:

- ``clean_markup`` runs on a decoded page before it is parsed: escape sequences, control
  characters (C0 but tab, newline and carriage return; DEL; C1) and the non-characters XML
  forbids (U+FFFE, U+FFFF) removed. The page's text is otherwise untouched.
- ``clean_text`` / ``clean_line`` run on each field taken from the page: the same removals,
  lone surrogates replaced by U+FFFD; for one-line fields (title, authors, site name, tags,
  description) also whitespace collapsed, the bidi override and isolate controls
  (U+202A-U+202E, U+2066-U+2069) removed, and Unicode NFC. The article's text keeps the
  page's Unicode form: the matcher, the search index and the fingerprints fold each word
  themselves (NFKC, case), so "Su\u0308d" and "Süd" match alike.

Exits (terminal, CSV, email, XML) escape for their medium by themselves (``crawler.escaping``):
rows stored by older versions never went through here.
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences (ECMA-48): CSI ("ESC [" parameters, intermediates, a final byte),
# OSC, DCS, SOS, PM and APC strings ended by BEL or "ESC \" within 512 characters, and the
# two- and three-byte escapes ("ESC c", "ESC 7", "ESC ( B"). None of them takes one of the
# characters markup is made of (< > & " ' and space): an escape cut short in a page loses its
# own characters, never the tag, entity or attribute beside it.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-;=?]*[!#$%(-/]*[@-~]?"
    r"|[\]PX^_][^\x07\x1b<]{0,512}(?:\x07|\x1b\\)"
    r"|[!#$%(-/]*[0-;=?-~]?)"
)
# C0 controls but tab, line feed and carriage return; DEL; C1 controls; the non-characters
# U+FFFE and U+FFFF, which XML 1.0 forbids.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Embedding, override and isolate controls: they reorder what follows them on display.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_SUSPECT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# The same characters one by one, for a page: a page is tens of kilobytes, and a search for
# one character is a memchr (70 us for all of them on a 70 KB page, a third of the regex's
# time). Lone surrogates are not searched for in a page: a strict decode never yields one, and
# lxml drops one it is given.
_ASCII_CONTROLS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_WIDE_CONTROLS = (*_ASCII_CONTROLS, *(chr(c) for c in range(0x80, 0xA0)), "\ufffe", "\uffff")


def clean_markup(html: str) -> str:
    """A decoded page without escape sequences, control characters or invalid code points;
    tab, newline and carriage return are kept, and so is everything else."""
    controls = _ASCII_CONTROLS if html.isascii() else _WIDE_CONTROLS
    if not any(char in html for char in controls):
        return html
    return _cleaned(html)


def _cleaned(html: str) -> str:
    html = _ESCAPE_SEQUENCE.sub("", html)
    html = _CONTROL.sub("", html)
    return _SURROGATE.sub("\ufffd", html)


def clean_text(text: str) -> str:
    """A multi-line field (the article's text): ``clean_markup``'s removals (lone surrogates
    replaced), carriage returns made newlines. Its Unicode form stays the page's: the matcher,
    the search index and the fingerprints normalise each word themselves."""
    if _SUSPECT.search(text) is not None:
        text = _cleaned(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_line(value: str | None) -> str | None:
    """A one-line field (title, author, site name, tag, description): ``clean_text``'s
    cleaning, the bidi controls removed, all whitespace collapsed to single spaces, and NFC
    (names and titles are compared and de-duplicated as they are); None when nothing is left."""
    if value is None:
        return None
    value = " ".join(_BIDI.sub("", clean_text(value)).split())
    value = unicodedata.normalize("NFC", value)
    return value or None


def clean_lines(values: tuple[str, ...]) -> tuple[str, ...]:
    """``clean_line`` of each value, the empty ones and repeats dropped, order kept."""
    out: list[str] = []
    for value in values:
        cleaned = clean_line(value)
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return tuple(out)
