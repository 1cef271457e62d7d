"""The shared crawl frontier in Redis, for crawls spread over `presswatch worker` processes.

A crawl of a source is a *run* (its crawl-run row's id). The daemon announces it with the
source's start points (its *seeds*: feeds, sitemaps, pages); every worker (one long-lived engine
taking part in every run) takes seeds and requests from the run's lists, pushes the links it
finds back (``crawler.cluster.scheduler``: a duplicate filter per run), and keeps what it took in a
processing list of its own until it has finished all of it (stored the articles, pushed the
links).

Nothing is lost for good: what a dead worker (silent for ``dead_after``) held goes back to
the run's lists, for another worker or its own restart. A run is over when nothing is left:
no seed, no queued request, nothing in any worker's hands. Keys (prefix ``presswatch``)::

    {p}:runs                       set of active run ids
    {p}:run:{id}                   hash: source, started
    {p}:run:{id}:seeds             list of JSON seeds {"url", "kind"}
    {p}:run:{id}:queue             list of serialized Scrapy requests
    {p}:run:{id}:seen              set of request fingerprints (the run's duplicate filter)
    {p}:run:{id}:articles          set of article URL keys claimed (each fetched once)
    {p}:run:{id}:workers           set of workers that took part
    {p}:run:{id}:processing:{w}    list of what worker w holds
    {p}:run:{id}:final             set once, by whoever closes the run
    {p}:workers                    hash: worker -> last heartbeat (epoch seconds)
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from crawler.config import ClusterConfig

# Finished runs' keys are kept this long (seconds) for inspection, then Redis drops them.
RUN_TTL = 24 * 3600

# Give back a worker's processing list in one step (no moment where an item is in no list):
# seeds (JSON) to the seeds, requests to the queue, first in line.
_REQUEUE = """
local moved = 0
while true do
  local item = redis.call('LPOP', KEYS[1])
  if not item then return moved end
  if string.sub(item, 1, 1) == '{' then
    redis.call('RPUSH', KEYS[2], item)
  else
    redis.call('RPUSH', KEYS[3], item)
  end
  moved = moved + 1
end
"""
# Seeds, queued requests and every taking part worker's holdings, read in one step.
_PENDING = """
local total = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2])
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  total = total + redis.call('LLEN', ARGV[1] .. worker)
end
return total
"""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Seed:
    url: str
    kind: str  # feed, sitemap or page

    def encode(self) -> bytes:
        return json.dumps({"url": self.url, "kind": self.kind}).encode("utf-8")

    @staticmethod
    def decode(data: bytes) -> Seed:
        value = json.loads(data)
        return Seed(str(value["url"]), str(value["kind"]))


class Frontier:
    def __init__(self, config: ClusterConfig, client: Any | None = None) -> None:
        self.config = config
        self.prefix = config.key_prefix
        self.redis: Any = client or redis.Redis.from_url(config.redis_url)
        self._requeue = self.redis.register_script(_REQUEUE)
        self._pending = self.redis.register_script(_PENDING)

    # keys ------------------------------------------------------------------------------------

    def run_key(self, run: int, part: str = "") -> str:
        return f"{self.prefix}:run:{run}{':' + part if part else ''}"

    def processing_key(self, run: int, worker: str) -> str:
        return self.run_key(run, f"processing:{worker}")

    # the daemon's side -----------------------------------------------------------------------

    def announce(self, run: int, source: str, seeds: Iterable[Seed]) -> None:
        """Open run ``run`` of ``source`` with its seeds, for the workers to take."""
        pipe = self.redis.pipeline()
        pipe.hset(self.run_key(run), mapping={"source": source, "started": time.time()})
        encoded = [seed.encode() for seed in seeds]
        if encoded:
            pipe.rpush(self.run_key(run, "seeds"), *encoded)
        pipe.sadd(f"{self.prefix}:runs", run)
        pipe.execute()

    def active_runs(self) -> dict[int, str]:
        """Active run id -> source."""
        runs = sorted(int(r) for r in self.redis.smembers(f"{self.prefix}:runs"))
        pipe = self.redis.pipeline()
        for run in runs:
            pipe.hget(self.run_key(run), "source")
        return {
            run: source.decode()
            for run, source in zip(runs, pipe.execute(), strict=True)
            if source is not None
        }

    def abandon(self, run: int) -> None:
        """Close a run that ran out of time: what is left of it is dropped, and no worker may
        close it as finished."""
        self.redis.set(self.run_key(run, "final"), "abandoned")
        self.redis.srem(f"{self.prefix}:runs", run)
        keys = [self.run_key(run, "seeds"), self.run_key(run, "queue")]
        keys += [
            self.processing_key(run, w.decode())
            for w in self.redis.smembers(self.run_key(run, "workers"))
        ]
        self.redis.delete(*keys)
        self._expire(run)

    # the workers' side -----------------------------------------------------------------------

    def join(self, run: int, worker: str) -> None:
        self.redis.sadd(self.run_key(run, "workers"), worker)

    def take_seed(self, run: int, worker: str) -> Seed | None:
        data = self.redis.lmove(
            self.run_key(run, "seeds"), self.processing_key(run, worker), "LEFT", "RIGHT"
        )
        return Seed.decode(data) if data is not None else None

    def done_with_all(self, run: int, worker: str) -> int:
        """The worker has finished everything it took (its crawl is idle): forget it."""
        key = self.processing_key(run, worker)
        pipe = self.redis.pipeline()
        pipe.llen(key)
        pipe.delete(key)
        held, _ = pipe.execute()
        return int(held)

    def pending(self, run: int) -> int:
        """Seeds, queued requests and requests in workers' hands of ``run``."""
        keys = [
            self.run_key(run, "seeds"),
            self.run_key(run, "queue"),
            self.run_key(run, "workers"),
        ]
        return int(self._pending(keys=keys, args=[self.run_key(run, "processing:")]))

    def state(self, run: int) -> str:
        """active, finished or abandoned (ran out of time)."""
        final = self.redis.get(self.run_key(run, "final"))
        if final is None:
            return "active"
        return "abandoned" if final == b"abandoned" else "finished"

    def claim_articles(self, run: int, keys: list[str]) -> list[bool]:
        """For each article URL key, whether this caller is the first of the run to want it
        (the one to fetch it): the duplicate filter across workers."""
        if not keys:
            return []
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.sadd(self.run_key(run, "articles"), key)
        return [bool(added) for added in pipe.execute()]

    def claim_final(self, run: int) -> bool:
        """True for the one caller that closes the run."""
        if not self.redis.set(self.run_key(run, "final"), 1, nx=True):
            return False
        self.redis.srem(f"{self.prefix}:runs", run)
        self._expire(run)
        return True

    def _expire(self, run: int) -> None:
        pipe = self.redis.pipeline()
        for part in ("", "seeds", "queue", "seen", "articles", "workers", "final"):
            pipe.expire(self.run_key(run, part), RUN_TTL)
        pipe.execute()

    # liveness --------------------------------------------------------------------------------

    def heartbeat(self, worker: str) -> None:
        self.redis.hset(f"{self.prefix}:workers", worker, time.time())

    def leave(self, worker: str) -> None:
        self.redis.hdel(f"{self.prefix}:workers", worker)

    def workers(self) -> dict[str, float]:
        """Live workers -> seconds since their last heartbeat."""
        now = time.time()
        seen = self.redis.hgetall(f"{self.prefix}:workers")
        limit = self.config.dead_after.total_seconds()
        return {w.decode(): now - float(at) for w, at in seen.items() if now - float(at) < limit}

    def requeue(self, run: int, worker: str) -> int:
        """Give back what ``worker`` held of ``run``: seeds to the seeds, requests to the
        queue (they were filtered when first pushed; they are not filtered again)."""
        keys = [
            self.processing_key(run, worker),
            self.run_key(run, "seeds"),
            self.run_key(run, "queue"),  # popped from the right: given-back work goes first
        ]
        return int(self._requeue(keys=keys))

    def reap(self) -> int:
        """Give back what dead workers held, and forget them. Returns requests given back."""
        now = time.time()
        limit = self.config.dead_after.total_seconds()
        moved = 0
        for worker, at in self.redis.hgetall(f"{self.prefix}:workers").items():
            if now - float(at) < limit:
                continue
            name = worker.decode()
            for run in self.active_runs():
                moved += self.requeue(run, name)
            self.redis.hdel(f"{self.prefix}:workers", name)
        return moved

    def length(self) -> int:
        """Requests waiting in the frontier (seeds and queues of active runs)."""
        runs = self.active_runs()
        pipe = self.redis.pipeline()
        for run in runs:
            pipe.llen(self.run_key(run, "seeds"))
            pipe.llen(self.run_key(run, "queue"))
        return sum(int(n) for n in pipe.execute()) if runs else 0
