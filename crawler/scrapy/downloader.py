"""Scrapy's downloader with its per-host limit held when several requests wait for one host.

In Scrapy 2.19 ``Downloader._process_queue`` hands out a slot's queued requests while the slot
has free transfer slots, but each download is started as a scheduled coroutine that marks its
request as transferring only once it runs: the loop sees the same free count for every request
it hands out, and all the host's queued requests go at once. Measured on the test sites: six
pages of one host downloading together under ``concurrency_per_domain = 2``. Here a request is
marked transferring as it is handed out (the download marks it again, and unmarks it when done).
With many sources on one host, that limit is what keeps presswatch polite.

This overrides private parts of Scrapy's downloader (``_process_queue``, ``_latercall``,
``_wait_for_download``, ``scrapy.core.downloader._schedule_coro``) through its public
``DOWNLOADER`` setting: the fix is inside that loop, and Scrapy offers no public hook there.
Check it against each Scrapy upgrade (tests/test_many_sources.py measures the per-host limit).
"""

from __future__ import annotations

from time import monotonic

from scrapy.core import downloader as scrapy_downloader
from scrapy.core.downloader import Downloader, Slot


class PoliteDownloader(Downloader):
    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return  # waiting for the slot's delay
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = scrapy_downloader.call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)
            scrapy_downloader._schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                # one request per delay
                self._process_queue(slot)
                break
