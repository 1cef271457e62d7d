"""A listing that answers from another address: confirmed as a permanent move (301/308 on
every hop) with one request of its own, then written into the config in place."""

from __future__ import annotations

import logging
from pathlib import Path

from crawler.config import ConfigError, CrawlConfig
from crawler.sources.configfile import replace_listing
from crawler.sources.probe import ProbeError, SiteProbe, new_pool
from storage.urlkeys import url_key

logger = logging.getLogger(__name__)


def moved_permanently(old: str, new: str, crawl: CrawlConfig) -> bool:
    """Whether ``old`` redirects to ``new`` by permanent redirects only."""
    probe = SiteProbe(
        new_pool(min(crawl.timeout.total_seconds(), 10.0), 1),
        crawl.user_agent,
        budget=8,
        obey_robots=crawl.obey_robots,
    )
    try:
        answer = probe.get(old)
    except ProbeError:
        logger.info("Cannot check whether %s moved", old, exc_info=True)
        return False
    return answer.moved_permanently and url_key(answer.url) == url_key(new)


def settle_move(
    config_path: Path, source: str, old: str, new: str, crawl: CrawlConfig
) -> tuple[bool, str]:
    """Update the config for a confirmed move: whether it was written, and what happened as a
    sentence for the log."""
    if not moved_permanently(old, new, crawl):
        return False, f"source {source}: {old} redirects to {new}, not permanently: left as it is"
    try:
        written = replace_listing(config_path, source, old, new)
    except ConfigError as exc:
        written = False
        logger.info("Cannot write the move of %s: %s", old, exc)
    if written:
        moved = f"source {source}: {old} moved permanently to {new}"
        return True, f"{moved}: {config_path} now says {new}"
    return False, (
        f"source {source}: {old} moved permanently to {new}: write the new address into "
        f"{config_path} (it could not be changed there automatically)"
    )
