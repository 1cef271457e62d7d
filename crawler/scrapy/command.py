"""``python -m crawler.scrapy.command crawl news -a source=NAME ...``: Scrapy's own command line,
exactly as ``python -m scrapy``, ended by ``quick_exit`` (crawler/quickexit.py) instead of the
interpreter's teardown. The daemon and the cluster workers run each crawl this way."""

from __future__ import annotations

import sys

from scrapy.cmdline import execute

from crawler.quickexit import run_then_quick_exit

if __name__ == "__main__":
    run_then_quick_exit(lambda: execute(["scrapy", *sys.argv[1:]]))
