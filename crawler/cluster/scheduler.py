"""The Scrapy scheduler of a cluster worker's engine: every announced run's queue in Redis.

A `presswatch worker` is one long-lived engine taking part in every run the daemon announces
(``crawler.cluster.frontier``). Its scheduler pushes the requests its spider makes into their run's
queue (an article's first request claimed for the run in the same step, so each article page is
fetched once across the cluster; other requests filtered by fingerprint per run), and takes
requests from the queues of the runs the worker has joined, in turn, each moved atomically
into the worker's processing list for that run, where it stays until the worker's share of the
run is idle (see ``crawler.cluster.share``).
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.request import request_from_dict

from crawler.scrapy.sourceruns import RUN_META

if TYPE_CHECKING:
    from crawler.scrapy.spiders.news import NewsSpider

TAKEN = "pw_taken"  # meta: taken from the frontier by this worker (copied to redirects, retries)

# Take an article for the run and queue its request in one step: the first worker to want an
# article fetches it, and a worker dying between the two cannot leave it claimed but unqueued.
_CLAIM_AND_PUSH = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
# From the first of the given (queue, processing list) pairs whose queue is not empty, move
# its oldest request into the processing list; return the pair's number and the request.
_TAKE = """
for i = 1, #KEYS, 2 do
  local item = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'RIGHT')
  if item then return {(i + 1) / 2, item} end
end
return nil
"""


class ClusterScheduler:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.spider: NewsSpider | None = None
        self._turn = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open(self, spider: Any) -> None:
        self.spider = spider
        assert spider.cluster is not None
        self.frontier = spider.cluster.frontier
        self.worker = spider.cluster.worker
        self.redis = self.frontier.redis
        self._claim_and_push = self.redis.register_script(_CLAIM_AND_PUSH)
        self._take = self.redis.register_script(_TAKE)

    def close(self, reason: str) -> None:
        return None

    def _keys(self, run: int) -> tuple[str, str]:
        return self.frontier.run_key(run, "queue"), self.frontier.processing_key(run, self.worker)

    def _encode(self, request: Request) -> bytes:
        return pickle.dumps(request.to_dict(spider=self.spider), protocol=pickle.HIGHEST_PROTOCOL)

    def enqueue_request(self, request: Request) -> bool:
        assert self.spider is not None
        run = int(request.meta[RUN_META])
        if request.meta.pop(TAKEN, False):
            # A redirect or retry of a request this worker took: that one is over (its count
            # released); the new one is counted by whoever takes it.
            self.spider.released_to_frontier(run)
        frontier = self.frontier
        queue = frontier.run_key(run, "queue")
        stats = self.crawler.stats
        claim = request.meta.get("pw_claim")
        if claim and not request.meta.get("redirect_urls") and not request.meta.get("retry_times"):
            # An article's first request (its redirects and retries follow it unfiltered).
            pushed = self._claim_and_push(
                keys=[frontier.run_key(run, "articles"), queue], args=[claim, self._encode(request)]
            )
            if not pushed:
                if stats:
                    stats.inc_value("discover/taken_by_another_worker")
                return False
        else:
            if not request.dont_filter:
                fingerprint = self.crawler.request_fingerprinter.fingerprint(request).hex()
                if not self.redis.sadd(frontier.run_key(run, "seen"), fingerprint):
                    return False
            self.redis.lpush(queue, self._encode(request))
        if stats:
            stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        assert self.spider is not None
        runs = self.spider.cluster_runs()
        if not runs:
            return None
        # Runs in turn, starting after the last one served.
        self._turn = (self._turn + 1) % len(runs)
        order = runs[self._turn :] + runs[: self._turn]
        keys = [key for run in order for key in self._keys(run)]
        taken = self._take(keys=keys)
        if taken is None:
            return None
        index, data = taken
        request = request_from_dict(pickle.loads(data), spider=self.spider)
        request.meta[TAKEN] = True
        self.spider.took_from_frontier(order[int(index) - 1])
        if self.crawler.stats:
            self.crawler.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return len(self) > 0

    def __len__(self) -> int:
        assert self.spider is not None
        runs = self.spider.cluster_runs()
        if not runs:
            return 0
        pipe = self.redis.pipeline()
        for run in runs:
            pipe.llen(self._keys(run)[0])
        return sum(int(n) for n in pipe.execute())
