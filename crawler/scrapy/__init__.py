"""The Scrapy project: the news spider, its pipelines, middlewares, extensions and settings, and
the processes that run it (a one-off crawl, the daemon's long-lived engine, the `scrapy`
command)."""
