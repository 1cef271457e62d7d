"""``presswatch sources import`` (OPML, or a list of site addresses) and ``sources export``."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any, TextIO

from crawler.config import Config
from crawler.sources.commands import (
    BadArgument,
    add_sites,
    configured_listings,
    source_name,
)
from crawler.sources.configfile import added_comment, append_sources, render_sources
from crawler.sources.finder import normalise_address
from crawler.sources.opml import OpmlError, OpmlSite, read_opml, write_opml
from storage.urlkeys import url_key


def import_file(
    config: Config,
    path: Path,
    *,
    dry_run: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """An OPML file of feeds, or a text file of site addresses (one a line, through discovery)."""
    out = out or sys.stdout
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadArgument(f"{path}: cannot be read ({exc.strerror})") from None
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _import_opml(config, path, data, dry_run=dry_run, as_json=as_json, out=out)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadArgument(f"{path}: is neither OPML nor UTF-8 text") from None
    addresses = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if normalise_address(line) is None:
            raise BadArgument(
                f"{path}, line {number}: {line!r} is not a site address; give one address "
                "a line (https://example.org/), or an OPML file"
            )
        addresses.append(line)
    if not addresses:
        raise BadArgument(f"{path}: has no site address; give one a line, or an OPML file")
    return add_sites(
        config, addresses, dry_run=dry_run, as_json=as_json, command="sources import", out=out
    )


def _import_opml(
    config: Config, path: Path, data: bytes, *, dry_run: bool, as_json: bool, out: TextIO
) -> int:
    try:
        sites = read_opml(data)
    except OpmlError as exc:
        raise BadArgument(
            f"{path}: {exc}; give an OPML 2.0 file or a list of site addresses"
        ) from None
    known = configured_listings(config)
    taken = {s.name for s in config.sources}
    results: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    for site in sites:
        result = _import_site(site, known, taken)
        results.append(result)
        if result["source"] is not None:
            tables.append(result["source"])
    if tables and not dry_run:
        _append_with_comments(config.path, tables, results)
    if as_json:
        print(
            json.dumps(
                {"config": str(config.path), "dry_run": dry_run, "sites": results}, indent=2
            ),
            file=out,
        )
        return 0
    for result in results:
        if result["source"] is None:
            print(f"{result['site']}: {result['why']}", file=out)
        else:
            table = result["source"]
            print(f"{result['site']}: source {table['name']!r} ({result['why']})", file=out)
            for feed in table.get("feeds", []):
                print(f"  feed     {feed}", file=out)
            for dropped in result["duplicates"]:
                print(f"  already configured: {dropped}", file=out)
    if tables and dry_run:
        print("\n" + render_sources(tables), file=out, end="")
    duplicates = sum(1 for r in results if r["source"] is None)
    verb = "would be added to" if dry_run else "added to"
    print(
        f"{len(tables)} source{'s' if len(tables) != 1 else ''} {verb} {config.path} from "
        f"{len(sites)} sites in {path.name}"
        + (f"; {duplicates} already configured" if duplicates else "")
        + (" -- --dry-run: nothing written" if dry_run else ""),
        file=out,
    )
    return 0


def _import_site(site: OpmlSite, known: dict[str, str], taken: set[str]) -> dict[str, Any]:
    label = site.home or (site.feeds[0] if site.feeds else site.name or site.key)
    listed = [*site.feeds, *site.extra.get("sitemaps", []), *site.extra.get("pages", [])]
    duplicates = [u for u in listed if url_key(str(u)) in known]
    fresh = [f for f in site.feeds if url_key(f) not in known]
    result: dict[str, Any] = {
        "site": label,
        "categories": sorted(set(site.categories)),
        "duplicates": duplicates,
        "source": None,
    }
    if duplicates and len(duplicates) == len(listed):
        owners = sorted({known[url_key(str(u))] for u in duplicates})
        result["why"] = f"already configured as source {', '.join(map(repr, owners))}: not added"
        return result
    if not listed:
        result["why"] = "no feed, sitemap or page: not added"
        return result
    if site.name and site.name not in taken:
        name = site.name
        taken.add(name)
    else:
        name = source_name(site.home or listed[0], taken)
    site.feeds = fresh
    for key in ("sitemaps", "pages"):
        if key in site.extra:
            site.extra[key] = [u for u in site.extra[key] if url_key(str(u)) not in known]
            if not site.extra[key]:
                del site.extra[key]
    table = site.table(name)
    known.update({url_key(str(u)): name for u in listed})
    result["source"] = table
    result["comment"] = site.comment()
    result["why"] = f"{len(fresh)} feed{'s' if len(fresh) != 1 else ''}" + (
        f", {len(duplicates)} already configured" if duplicates else ""
    )
    return result


def _append_with_comments(
    path: Path, tables: list[dict[str, Any]], results: list[dict[str, Any]]
) -> None:
    notes = [r.get("comment") or None for r in results if r["source"] is not None]
    append_sources(path, tables, added_comment("sources import"), notes)


def export_opml(config: Config, output: Path | None, out: TextIO | None = None) -> int:
    raw = tomllib.loads(config.path.read_text(encoding="utf-8")).get("sources", [])
    data = write_opml(raw, title=f"presswatch sources of {config.path.name}")
    out = out or sys.stdout
    if output is None:
        if hasattr(out, "buffer"):
            out.buffer.write(data)
        else:
            out.write(data.decode("utf-8"))
        out.flush()
    else:
        _write_atomically(output, data)
        feeds = sum(len(s.get("feeds", [])) for s in raw)
        print(f"wrote {output}: {len(raw)} sources, {feeds} feeds", file=sys.stderr)
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadArgument(f"-o {path}: cannot be written ({exc.strerror})") from None
