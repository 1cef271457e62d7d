"""Scrapy settings for presswatch: these defaults, and (``from_config``) the ones a config sets
over them, which the spider applies as it starts (``NewsSpider.from_crawler``)."""

from __future__ import annotations

import typing

from scrapy.settings import default_settings

# (Not ``from typing import TYPE_CHECKING``: Scrapy takes every upper-case name here for a setting.)
if typing.TYPE_CHECKING:
    from crawler.config import Config

BOT_NAME = "presswatch"
SPIDER_MODULES = ["crawler.scrapy.spiders"]
NEWSPIDER_MODULE = "crawler.scrapy.spiders"

USER_AGENT = "presswatch/0.1 (+https://github.com/presswatch/presswatch)"
ROBOTSTXT_OBEY = True

# Politeness: AutoThrottle adapts the delay to each server's latency; per-domain concurrency
# stays bounded whatever it decides.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.0
# One item per article page: a high CONCURRENT_ITEMS only starts more idle tasks per response.
CONCURRENT_ITEMS = 4

# Scrapy counts DOWNLOAD_TIMEOUT over the whole transfer (connecting, headers and body), and
# DOWNLOAD_MAXSIZE over the body both as received and as decompressed (gzip, deflate, br, zstd):
# a page that never ends, or that inflates past the limit, is cut (crawler.scrapy.middlewares).
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10_000_000
DOWNLOAD_WARNSIZE = 0
# Only the web: no handler reads file:, data:, ftp: or s3: URLs, whatever a page or a listing
# points to (a redirect to one is refused before this, as redirect_not_http).
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
DNSCACHE_ENABLED = True
HTTPCACHE_ENABLED = False

ITEM_PIPELINES = {
    "crawler.scrapy.pipelines.ExtractionPipeline": 300,
    "crawler.scrapy.pipelines.StoragePipeline": 500,
}
# Scrapy's own extensions less RemoteControl: off or not, Scrapy imports each listed extension
# to normalise the list, and this one imports aiohttp (~80 ms of every crawl's start).
EXTENSIONS_BASE = {
    path: order
    for path, order in default_settings.EXTENSIONS_BASE.items()
    if not path.endswith(".RemoteControl")
}
EXTENSIONS = {
    "crawler.scrapy.extensions.ProgressReporter": 200,
    "crawler.scrapy.extensions.UrgentAlerts": 300,
}

# One crawler carries many sources: each request is let through to its own source's domains
# (SourceGate, in place of Scrapy's spider-wide offsite filter), and robots.txt is read again
# after a while in a long-lived engine. The spider skips over-long URLs itself and counts them
# (Scrapy's UrlLengthMiddleware would drop them unseen).
# TransferGuard sits between the downloader and Scrapy's redirect and retry middlewares: it
# sees a redirect to a non-web URL, and a timeout in the middle of a body, first.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.scrapy.middlewares.SourceGate": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.scrapy.middlewares.ExpiringRobotsTxt": 100,
    "crawler.scrapy.middlewares.TransferGuard": 650,
}
# (and the per-host limit held when many requests for one host are queued:
# crawler/scrapy/downloader.py)
DOWNLOADER = "crawler.scrapy.downloader.PoliteDownloader"
# Many hosts at once (a broad crawl): take the next request for the host with the least in
# progress, not the next in line, so that a slow or delayed host does not fill every
# download slot while the others wait.
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}

LOG_LEVEL = "INFO"

# presswatch's own settings, filled in from the config by the spider.
PRESSWATCH_DATABASE_URL = None
PRESSWATCH_STORE_BATCH = 50
PRESSWATCH_STORY_WINDOW = 7 * 24 * 3600.0  # seconds: near-copies join stories stored within it
PRESSWATCH_STORE_FLUSH_SECONDS = 1.0
PRESSWATCH_WORKERS = "auto"  # extraction worker processes: "auto" (one per core), or 0 for inline
PRESSWATCH_EXTRACT_TIMEOUT = 60.0  # seconds a worker may spend on one page
PRESSWATCH_PAGES_IN_FLIGHT = 0  # pages with the workers at once; 0: 32 per worker
PRESSWATCH_ROBOTS_TTL = 24 * 3600.0  # seconds a site's robots.txt is trusted
PRESSWATCH_PROGRESS_SECONDS = 0  # 0: no progress lines (`presswatch crawl` turns them on)


def from_config(config: Config) -> dict[str, typing.Any]:
    """The settings ``config`` sets (at the spider's priority, over the defaults above)."""
    crawl = config.crawl
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay.total_seconds(),
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay.total_seconds(), 0.1),
        "DOWNLOAD_TIMEOUT": crawl.timeout.total_seconds(),
        "RETRY_TIMES": crawl.retries,
        "DOWNLOAD_MAXSIZE": crawl.max_page_size,
        "PRESSWATCH_DATABASE_URL": config.database_url,
        "PRESSWATCH_STORY_WINDOW": config.storage.story_window.total_seconds(),
        "PRESSWATCH_WORKERS": crawl.workers,
        "PRESSWATCH_EXTRACT_TIMEOUT": crawl.extract_timeout.total_seconds(),
        "PRESSWATCH_ROBOTS_TTL": crawl.robots_ttl.total_seconds(),
    }
