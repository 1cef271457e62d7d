"""Changing the config file without disturbing what the user wrote in it.

New ``[[sources]]`` blocks are appended to the file, and a moved listing's address is replaced
where it is written, so every other byte (comments, order, blank lines, the user's quoting)
stays as it was. tomlkit renders what is written (strings escaped as TOML wants them, arrays,
tables); its document model is not used to write the file back, because it moves a split
array of tables together (``[[sources]]`` blocks with ``[[watchlists]]`` between them, as in
the demo's config) and so changes the order. Every change is checked by reading the result
back before the file is replaced, atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit

from crawler.config import ConfigError, load_config

_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*sources[ \t]*\]\][ \t]*(#.*)?$", re.M)
_ANY_HEADER = re.compile(r"^[ \t]*\[", re.M)


def render_sources(
    tables: Sequence[dict[str, Any]],
    comment: str | None = None,
    notes: Sequence[str | None] | None = None,
) -> str:
    """``[[sources]]`` blocks for ``tables``, as TOML text: ``comment`` above them all, each
    of ``notes`` above its block."""
    parts = []
    for n, table in enumerate(tables):
        document = tomlkit.document()
        array = tomlkit.aot()
        item = tomlkit.table()
        for key, value in table.items():
            item[key] = value
        array.append(item)
        document["sources"] = array
        note = notes[n] if notes else None
        parts.append(_comment(note) + tomlkit.dumps(document).strip() + "\n")
    return _comment(comment) + "\n".join(parts)


def _comment(text: str | None) -> str:
    return "".join(f"# {line}\n" for line in (text or "").splitlines())


def append_sources(
    path: Path,
    tables: Sequence[dict[str, Any]],
    comment: str,
    notes: Sequence[str | None] | None = None,
) -> None:
    """Append ``tables`` as ``[[sources]]`` blocks to the config at ``path``."""
    if not tables:
        return
    text = _read(path)
    addition = render_sources(tables, comment, notes)
    new = text + ("" if text.endswith("\n") else "\n") + "\n" + addition if text else addition
    before = _parse(path, text)
    after = _parse(path, new, what="the sources added")
    if after.get("sources", [])[: len(before.get("sources", []))] != before.get("sources", []):
        raise ConfigError(f"{path}: adding sources would change the existing ones; nothing written")
    _write_checked(path, new, text)


def replace_listing(path: Path, source: str, old: str, new: str) -> bool:
    """Write ``new`` for ``old`` in source ``source``'s feeds/sitemaps/pages, in place; False
    when the config no longer has it there (changed by hand since)."""
    text = _read(path)
    data = _parse(path, text)
    sources = data.get("sources", [])
    index = next((i for i, s in enumerate(sources) if s.get("name") == source), None)
    if index is None:
        return False
    headers = list(_HEADER.finditer(text))
    if len(headers) != len(sources):
        return False  # sources written some other way (inline tables): leave them alone
    start = headers[index].end()
    following = _ANY_HEADER.search(text, start)
    end = following.start() if following else len(text)
    block = text[start:end]
    written = [m for q in ('"', "'") for m in re.finditer(re.escape(q + old + q), block)]
    if len(written) != 1:
        return False
    found = written[0]
    replacement = tomlkit.string(new).as_string()
    changed = text[: start + found.start()] + replacement + text[start + found.end() :]
    expected = _with_listing(sources[index], old, new)
    after = _parse(path, changed, what="the moved listing")
    if after.get("sources", [])[index] != expected:
        return False
    _write_checked(path, changed, text)
    return True


def _with_listing(source: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    out = dict(source)
    for key in ("feeds", "sitemaps", "pages"):
        if key in out:
            out[key] = [new if u == old else u for u in out[key]]
    return out


def added_comment(command: str) -> str:
    return f"added by `presswatch {command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _parse(path: Path, text: str, what: str | None = None) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if what is None:
            raise ConfigError(f"{path}: is not valid TOML: {exc}") from None
        raise ConfigError(
            f"{path}: with {what} it would not be valid TOML ({exc}); write the sources as "
            "[[sources]] blocks, not an inline array, and try again"
        ) from None


def _write_checked(path: Path, text: str, based_on: str) -> None:
    """Replace the file with ``text`` once the whole config validates with it, unless it no
    longer holds ``based_on`` (someone saved it meanwhile: their change is not overwritten)."""
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{path}: is not writable; nothing written")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        try:
            load_config(temporary)  # the whole config, as the crawl will read it
        except ConfigError as exc:
            raise ConfigError(
                str(exc).replace(temporary, str(path)) + "; nothing written"
            ) from None
        if _read(path) != based_on:
            raise ConfigError(
                f"{path}: changed while presswatch was changing it; nothing written: "
                "run the command again"
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
