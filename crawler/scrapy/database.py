"""The crawl process's database engines: one that writes and one that reads, per crawler.

Everything of one crawler that touches the database (the spider's schema check and reads, the
one writer, the urgent alerts, the summaries read after the crawl) shares these two engines and
their connection pools, instead of each making its own. The first component to ask for them
makes them (the spider, in ``from_crawler``); they are disposed when the crawler's engine stops.
The writing engine is ``storage.engine``'s (on SQLite: WAL, the busy timeout, ``BEGIN
IMMEDIATE``); the reading one begins deferred transactions, which never wait for a writer.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import make_engine, make_sessionmaker


@dataclass(eq=False)
class Database:
    url: str
    writer: Engine
    reader: Engine
    reads: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.reads = make_sessionmaker(self.reader)

    def dispose(self) -> None:
        """Close the pooled connections (an engine used again opens new ones)."""
        self.writer.dispose()
        self.reader.dispose()


_databases: weakref.WeakKeyDictionary[Crawler, dict[str, Database]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def database_of(crawler: Crawler, url: str) -> Database:
    """``crawler``'s engines for the database at ``url``, made at the first call."""
    with _lock:
        opened = _databases.setdefault(crawler, {})
        database = opened.get(url)
        if database is None:
            database = opened[url] = Database(url, make_engine(url), make_engine(url, write=False))
            crawler.signals.connect(database.dispose, signal=signals.engine_stopped)
    return database
