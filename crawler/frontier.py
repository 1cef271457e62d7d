"""scrapy-redis, set for presswatch's runs: a crawl in cluster mode (``-a run=ID``) schedules
into and takes from the run's queue in Redis (``crawler.cluster``), each request it takes kept
in the worker's processing list until the crawl is idle, and filters duplicates per run."""

from __future__ import annotations

import os
from typing import Any

from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

WORKER_ENV = "PRESSWATCH_WORKER_ID"


def worker_id() -> str:
    from crawler.cluster import new_worker_id

    return os.environ.get(WORKER_ENV) or new_worker_id()


class RunQueue(Base):
    """FIFO over a Redis list; a request taken moves atomically into the worker's processing
    list (LMOVE), so a worker that dies holds nothing that is not also recorded there."""

    processing_key: str = ""

    def __len__(self) -> int:
        return int(self.server.llen(self.key))

    def push(self, request: Any) -> None:
        self.server.lpush(self.key, self._encode_request(request))

    def pop(self, timeout: int = 0) -> Any:
        data = self.server.lmove(self.key, self.processing_key, "RIGHT", "RIGHT")
        return self._decode_request(data) if data is not None else None


# Take an article for the run and queue its request in one step: the first worker to want an
# article fetches it, and a worker dying between the two cannot leave it claimed but unqueued.
_CLAIM_AND_PUSH = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class RunScheduler(Scheduler):
    """scrapy-redis's scheduler with the run's keys (settings PRESSWATCH_RUN_ID and
    PRESSWATCH_CLUSTER_PREFIX, set by the spider) and the processing list."""

    @classmethod
    def from_settings(cls, settings: Any) -> RunScheduler:
        run = settings.getint("PRESSWATCH_RUN_ID")
        prefix = settings.get("PRESSWATCH_CLUSTER_PREFIX")
        base = f"{prefix}:run:{run}"
        scheduler = super().from_settings(settings)
        scheduler.queue_key = f"{base}:queue"
        scheduler.queue_cls = "crawler.frontier.RunQueue"
        scheduler.persist = True
        scheduler.processing_key = f"{base}:processing:{settings.get('PRESSWATCH_WORKER_ID')}"
        scheduler.df = RFPDupeFilter(scheduler.server, key=f"{base}:seen")
        scheduler.articles_key = f"{base}:articles"
        scheduler.claim_and_push = scheduler.server.register_script(_CLAIM_AND_PUSH)
        return scheduler

    def open(self, spider: Any) -> None:
        super().open(spider)
        self.queue.processing_key = self.processing_key

    # scrapy-redis's own pass the spider to the stats, which Scrapy 2.13 deprecates.
    def enqueue_request(self, request: Any) -> bool:
        claim = request.meta.get("pw_claim")
        if claim and not request.meta.get("redirect_urls") and not request.meta.get("retry_times"):
            # An article's first request (its redirects and retries follow it unfiltered).
            pushed = self.claim_and_push(
                keys=[self.articles_key, self.queue.key],
                args=[claim, self.queue._encode_request(request)],
            )
            if not pushed:
                if self.stats:
                    self.stats.inc_value("discover/taken_by_another_worker")
                return False
        elif not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        else:
            self.queue.push(request)
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Any:
        request = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
