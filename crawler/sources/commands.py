"""``presswatch sources add | import | export | list``: what each does, and what it prints."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from pydantic import ValidationError

from crawler.config import Config, SourceConfig
from crawler.sources.configfile import added_comment, append_sources, render_sources
from crawler.sources.finder import ProbeSettings, SiteReport, find_sites, normalise_address
from storage.urlkeys import host_of, url_key

PROBE_TIMEOUT = 10.0  # seconds per request at most, whatever [crawl] timeout says


class BadArgument(Exception):
    """An argument the user must fix; the message says which and how."""


def probe_settings(config: Config) -> ProbeSettings:
    return ProbeSettings(
        user_agent=config.crawl.user_agent,
        obey_robots=config.crawl.obey_robots,
        timeout=min(config.crawl.timeout.total_seconds(), PROBE_TIMEOUT),
        max_age=config.crawl.max_article_age,
    )


# -- sources add ------------------------------------------------------------------------------


def add_sites(
    config: Config,
    addresses: Sequence[str],
    *,
    name: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
    dry_run: bool = False,
    as_json: bool = False,
    command: str = "sources add",
    out: TextIO | None = None,
) -> int:
    """Find what to crawl on each site and add it as a source; exit status 1 when a site had
    nothing usable."""
    out = out or sys.stdout
    sites = _addresses(addresses)
    if name is not None and len(sites) > 1:
        raise BadArgument(
            f"--name names one source but {len(sites)} site addresses were given: give one "
            "address with --name, or leave --name out to name each source after its site"
        )
    _check_options(name, language, timezone)
    if name is not None and any(s.name == name for s in config.sources):
        raise BadArgument(
            f"--name {name!r} is already a source in {config.path}: choose another name"
        )
    started = time.monotonic()
    reports = find_sites(sites, probe_settings(config))
    _settle(config, reports, name=name, language=language, timezone=timezone)
    added = [r for r in reports if r.usable and r.duplicate_of is None]
    if added and not dry_run:
        append_sources(config.path, [r.block() for r in added], added_comment(command))
    seconds = time.monotonic() - started
    if as_json:
        result = {
            "config": str(config.path),
            "dry_run": dry_run,
            "added": [r.name for r in added],
            "sites": [r.as_dict() for r in reports],
            "seconds": round(seconds, 2),
        }
        print(json.dumps(result, indent=2), file=out)
    else:
        for report in reports:
            _print_report(report, out)
        if added and dry_run:
            print("\n" + render_sources([r.block() for r in added]), file=out, end="")
        print(_summary(config, reports, added, dry_run, seconds), file=out)
    return 0 if all(r.usable for r in reports) else 1


def _addresses(addresses: Sequence[str]) -> list[str]:
    sites = []
    for address in addresses:
        site = normalise_address(address)
        if site is None:
            raise BadArgument(
                f"{address!r} is not a site address: give one like https://example.org/ "
                "or example.org"
            )
        sites.append(site)
    return sites


def _check_options(name: str | None, language: str | None, timezone: str | None) -> None:
    """--name, --language and --timezone checked as the config checks them."""
    table: dict[str, Any] = {"name": name or "x", "pages": ["http://x/"]}
    if language is not None:
        table["language"] = language
    if timezone is not None:
        table["timezone"] = timezone
    try:
        SourceConfig.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = f"--{first['loc'][0]}" if first["loc"] else "an option"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise BadArgument(f"{option}: {message}") from None


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def source_name(url: str, taken: set[str]) -> str:
    """A source name from a site's host (``www.`` and the port left out), unique in ``taken``."""
    host = host_of(url).removeprefix("www.")
    base = _NAME_CHARS.sub("-", host).strip("-._")[:90] or "site"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def configured_listings(config: Config) -> dict[str, str]:
    """URL key of every configured feed, sitemap and page -> its source."""
    return {url_key(u): s.name for s in config.sources for u in s.start_urls}


def _settle(
    config: Config,
    reports: list[SiteReport],
    *,
    name: str | None,
    language: str | None,
    timezone: str | None,
) -> None:
    """Names, the options given, and duplicates of configured sources (or of each other)."""
    known = configured_listings(config)
    taken = {s.name for s in config.sources}
    for report in reports:
        if not report.usable:
            continue
        keys = [url_key(c.url) for c in report.chosen]
        report.duplicate_of = next((known[k] for k in keys if k in known), None)
        if report.duplicate_of is not None:
            continue
        if name is not None:
            taken.add(name)
            report.name = name
        else:
            report.name = source_name(report.home or report.address, taken)
        report.language = language or report.language
        report.timezone = timezone or report.timezone
        known.update({k: report.name for k in keys})


def _print_report(report: SiteReport, out: TextIO) -> None:
    if report.duplicate_of is not None:
        head = f"already configured as source {report.duplicate_of!r}: not added"
    elif report.usable:
        head = f"source {report.name!r}"
    else:
        head = f"nothing usable: {report.problem}"
    print(f"{report.address}: {head}", file=out)
    for candidate in report.chosen:
        print(f"  {candidate.kind:<8} {candidate.url}", file=out)
        print(f"  {'':<8} {candidate.summary()}", file=out)
    for url, why in report.covered:
        print(f"  not needed: {url}: {why}", file=out)
    for url, reason in report.refused:
        print(f"  refused: {url}: {reason}", file=out)
    if report.tried:
        print(f"  tried: {', '.join(report.tried)}", file=out)
    if report.usable and report.duplicate_of is None:
        facts = [
            f"article_pattern {report.article_pattern}" if report.article_pattern else "",
            f"language {report.language}" if report.language else "language not stated",
            f"timezone {report.timezone}" if report.timezone else "timezone not stated (UTC)",
            f"allowed_domains {', '.join(report.allowed_domains)}"
            if report.allowed_domains
            else "",
        ]
        print("  " + "; ".join(f for f in facts if f), file=out)


def _summary(
    config: Config, reports: list[SiteReport], added: list[SiteReport], dry: bool, seconds: float
) -> str:
    unusable = sum(1 for r in reports if not r.usable)
    duplicates = sum(1 for r in reports if r.usable and r.duplicate_of is not None)
    verb = "would be added to" if dry else "added to"
    parts = [f"{len(added)} source{'s' if len(added) != 1 else ''} {verb} {config.path}"]
    if duplicates:
        parts.append(f"{duplicates} already configured")
    if unusable:
        parts.append(f"{unusable} site{'s' if unusable != 1 else ''} with nothing usable")
    requests = sum(r.requests for r in reports)
    tail = f" ({requests} requests to {len(reports)} sites in {seconds:.1f} s)"
    return "; ".join(parts) + tail + (" -- --dry-run: nothing written" if dry else "")
