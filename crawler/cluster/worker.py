"""``presswatch worker``: one long-lived crawl engine taking part in every run of the cluster.

The daemon announces each run in the shared frontier in Redis (``crawler.cluster.frontier``); a
worker is one Scrapy crawler (the ``news`` spider with ``-a cluster=true``) whose scheduler serves
every announced run's queue (``crawler.cluster.scheduler``) and whose spider joins each run as it
appears (``crawler.cluster.share``), with one extraction pool and one database writer for all of
them. No process per run. SIGTERM lets the pages in flight finish, reports each run's share and
gives back what the worker still holds; a worker killed outright is found dead by the others, which
give back what it held.
"""

from __future__ import annotations

import logging
from pathlib import Path

from crawler.cluster.frontier import Frontier
from crawler.config import Config

logger = logging.getLogger("presswatch.worker")


def run_worker(config: Config) -> int:
    from scrapy.crawler import CrawlerProcess

    from crawler.scrapy.crawl import scrapy_settings
    from crawler.scrapy.spiders.news import NewsSpider

    assert config.cluster is not None
    # Unreachable Redis is the user's to fix: said before anything starts (cmd_worker).
    Frontier(config.cluster).redis.ping()
    settings = scrapy_settings({"LOG_INSTALL_ROOT_HANDLER": False, "LOG_LEVEL": "WARNING"})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, cluster=True, config=str(Path(config.path)))
    logger.info("presswatch worker started: frontier %s", config.cluster.redis_url)
    process.start()
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    logger.info("presswatch worker stopped (%s)", reason)
    return 0 if reason in ("shutdown", "finished") else 1
