"""Delivering digests and urgent alerts: never lost, never twice.

Per watcher and channel (email, webhook, directory) a delivery follows an outbox:

1. *record*: in one transaction the delivery row and its items (the matches it carries) are
   written; an item's unique key makes a match go into one delivery per channel at most;
2. *claim*: the row is marked ``sending`` by this process (host:pid), committed;
3. *send* over the channel;
4. *mark* it ``sent``, or back to ``pending`` with the error.

A failure leaves the delivery pending; the next run sends it again, with the matches that
arrived since added to it (a new Message-ID then, since its content changed). A delivery found
``sending`` whose sender is gone was interrupted between 2 and 4: it is sent again exactly as
it was, with the same Message-ID, so a mail client shows it once even if the first attempt got
through. The Atom feed is not an outbox channel: it is rewritten whole on every run.

This module runs the outbox and records (step 1); sending a recorded delivery (steps 2 to 4) is
crawler.digests.sending's job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config, WatcherConfig
from crawler.digests import delivery
from crawler.digests.atom import feed_groups, render_atom
from crawler.digests.digest import Digest, delivery_digest, digest_of_rows
from crawler.digests.sending import DeliveryAttempt, Sender
from storage import deliveries as outbox
from storage.engine import make_sessionmaker
from storage.models import Article, Delivery, WatchMatch

logger = logging.getLogger(__name__)

OUTBOX_CHANNELS = ("email", "webhook", "directory")
# Matches are written with their time before their transaction commits; looking this far
# behind the last digest catches one committed late (the items' key prevents repeats).
COMMIT_LAG = timedelta(hours=6)


def schedule_period(watcher: WatcherConfig, now: datetime) -> timedelta:
    """How far back a watcher's first digest reaches: one period of its schedule."""
    trigger = schedule_trigger(watcher)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    if first is None or second is None:
        return timedelta(days=1)
    return max(timedelta(minutes=1), second - first)


def schedule_trigger(watcher: WatcherConfig) -> Any:
    """The APScheduler trigger of a watcher's ``schedule``, in its time zone."""
    from apscheduler.triggers.cron import CronTrigger

    words = watcher.schedule.split()
    zone = watcher.zone
    if words[0] == "hourly":
        return CronTrigger(minute=0, timezone=zone)
    if words[0] == "daily":
        hour, minute = words[1].split(":")
        return CronTrigger(hour=int(hour), minute=int(minute), timezone=zone)
    if words[0] == "weekly":
        hour, minute = words[2].split(":")
        return CronTrigger(day_of_week=words[1], hour=int(hour), minute=int(minute), timezone=zone)
    return CronTrigger.from_crontab(watcher.schedule, timezone=zone)


class Outbox:
    """The runs (a watcher's digest, the urgent alerts after a crawl, a preview) over one
    database, and what each records before it is sent."""

    def __init__(self, engine: Engine, config: Config) -> None:
        self.config = config
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self.sending = Sender(config, self.sessions)

    # runs ----------------------------------------------------------------------------------

    def run_digest(
        self, watcher: WatcherConfig, now: datetime | None = None
    ) -> list[DeliveryAttempt]:
        """Deliver the watcher's digest on each of its channels, and whatever is pending."""
        now = now or datetime.now(UTC)
        results = []
        for channel in watcher.channels:
            if channel == "feed":
                results.append(self.write_feed(watcher, now))
                continue
            with self.sessions.begin() as session:
                ids, _digest = self._record_digest(session, watcher, channel, now)
            results += [self.sending.attempt(i) for i in ids] or [
                DeliveryAttempt(watcher.name, channel, "digest", "nothing")
            ]
        with self.sessions.begin() as session:
            outbox.set_last_digest_run(session, watcher.name, now)
        return results

    def run_alerts(self, since: datetime, now: datetime | None = None) -> list[DeliveryAttempt]:
        """Send urgent watchlists' matches new or updated since ``since`` to their watchers at
        once (and retry alerts still pending). The next digest does not repeat them."""
        now = now or datetime.now(UTC)
        urgent = {w.name for w in self.config.watchlists if w.priority == "urgent"}
        results: list[DeliveryAttempt] = []
        for watcher in self.config.watchers:
            followed = [w for w in watcher.watchlists if w in urgent]
            if not followed:
                continue
            wrote = False
            for channel in watcher.channels:
                if channel == "feed":
                    continue
                with self.sessions.begin() as session:
                    ids = self._record_alert(session, watcher, channel, followed, since, now)
                results += [self.sending.attempt(i) for i in ids]
                wrote = wrote or bool(ids)
            if wrote and watcher.feed:
                results.append(self.write_feed(watcher, now))
        return results

    def preview(self, watcher: WatcherConfig, now: datetime | None = None) -> Digest:
        """What the watcher's next digest would hold on its first outbox channel (what is
        pending there and what arrived since), reading only (``presswatch digest``)."""
        now = now or datetime.now(UTC)
        channels = [c for c in watcher.channels if c in OUTBOX_CHANNELS]
        with self.sessions() as session:
            if not channels:
                start = now - schedule_period(watcher, now)
                rows = outbox.undelivered(session, watcher.watchlists, start)
                return digest_of_rows(session, self.config, watcher, "digest", start, now, rows, 0)
            channel = channels[0]
            listed: list[tuple[WatchMatch, Article]] = []
            folded = 0
            since: datetime | None = None
            for row in outbox.open_deliveries(session, watcher.name, channel):
                if row.kind != "digest":
                    continue
                since = since or row.period_start
                for item, match, article in outbox.items_of(session, row.id):
                    folded += item.folded
                    if match is not None and not item.folded:
                        listed.append((match, article))
            start, reach = self._window(session, watcher, channel, now)
            for planned, match, article in self._plan(
                session, watcher, channel, watcher.watchlists, reach
            ):
                folded += planned.folded
                if not planned.folded:
                    listed.append((match, article))
            return digest_of_rows(
                session, self.config, watcher, "digest", since or start, now, listed, folded
            )

    def _window(
        self, session: Session, watcher: WatcherConfig, channel: str, now: datetime
    ) -> tuple[datetime, datetime]:
        """Where the next digest on ``channel`` starts, and how far back it looks for
        matches (COMMIT_LAG further, for matches committed late)."""
        last_end = outbox.last_digest_end(session, watcher.name, channel)
        if last_end is None:
            since = now - schedule_period(watcher, now)
            return since, since
        return last_end, last_end - COMMIT_LAG

    # recording -----------------------------------------------------------------------------

    def _record_digest(
        self, session: Session, watcher: WatcherConfig, channel: str, now: datetime
    ) -> tuple[list[int], Digest]:
        """Record what is to be sent on ``channel`` (in the caller's transaction); returns the
        deliveries to attempt, and the digest as the new or grown pending digest holds it."""
        to_send: list[int] = []
        pending_digest: Delivery | None = None
        for row in outbox.open_deliveries(session, watcher.name, channel):
            to_send.append(row.id)  # (one another process is sending comes back "busy")
            grows = row.status == "pending" and row.kind == "digest" and not row.uncertain
            if grows and pending_digest is None:
                pending_digest = row
        since, reach = self._window(session, watcher, channel, now)
        planned = self._plan(session, watcher, channel, watcher.watchlists, reach)
        items = [item for item, _, _ in planned]
        if pending_digest is not None:
            added = outbox.add_items(session, pending_digest, items)
            pending_digest.period_end = now
            if added and pending_digest.attempts:
                pending_digest.message_id = self._message_id(watcher)
            digest_row = pending_digest
        elif any(not i.folded for i in items) or watcher.send_empty:
            digest_row = self._new_delivery(session, watcher, channel, "digest", since, now)
            taken = outbox.add_items(session, digest_row, items)
            if not taken and not watcher.send_empty:
                session.delete(digest_row)  # a concurrent run took them all
                return to_send, digest_of_rows(
                    session, self.config, watcher, "digest", since, now, [], 0
                )
            to_send.append(digest_row.id)
        else:
            # Nothing, or only later copies of stories already sent: nothing to tell yet
            # (those copies are counted in the next digest that has something to tell).
            return to_send, digest_of_rows(
                session, self.config, watcher, "digest", since, now, [], 0
            )
        session.flush()
        return to_send, delivery_digest(session, self.config, digest_row)

    def _record_alert(
        self,
        session: Session,
        watcher: WatcherConfig,
        channel: str,
        watchlists: list[str],
        since: datetime,
        now: datetime,
    ) -> list[int]:
        to_send = [
            row.id
            for row in outbox.open_deliveries(session, watcher.name, channel)
            if row.kind == "alert" and not (row.status == "sending" and self.sending.busy(row, now))
        ]
        planned = self._plan(session, watcher, channel, watchlists, since)
        items = [item for item, _, _ in planned if not item.folded]
        if items:
            row = self._new_delivery(session, watcher, channel, "alert", since, now)
            if outbox.add_items(session, row, items):
                to_send.append(row.id)
            else:
                session.delete(row)  # a concurrent run took them all
        return to_send

    def _plan(
        self,
        session: Session,
        watcher: WatcherConfig,
        channel: str,
        watchlists: Sequence[str],
        since: datetime,
    ) -> list[tuple[outbox.NewItem, WatchMatch, Article]]:
        """The matches not yet delivered on ``channel``, with the items they would become."""
        rows = outbox.undelivered(session, watchlists, since, watcher=watcher.name, channel=channel)
        stories = {(m.watchlist, a.story_id or a.id) for m, a in rows}
        sent = outbox.delivered_stories(session, watcher.name, channel, stories)
        return [
            (
                outbox.NewItem(
                    watchlist=m.watchlist,
                    article_id=a.id,
                    story_id=a.story_id or a.id,
                    match_updated_at=m.updated_at,
                    # A new copy of a story already delivered adds nothing to read; an
                    # update does.
                    folded=m.status == "new" and (m.watchlist, a.story_id or a.id) in sent,
                ),
                m,
                a,
            )
            for m, a in rows
        ]

    def _new_delivery(
        self,
        session: Session,
        watcher: WatcherConfig,
        channel: str,
        kind: str,
        since: datetime,
        now: datetime,
    ) -> Delivery:
        row = Delivery(
            watcher=watcher.name,
            channel=channel,
            kind=kind,
            status="pending",
            message_id=self._message_id(watcher),
            period_start=since,
            period_end=now,
            created_at=now,
            attempts=0,
        )
        session.add(row)
        session.flush()
        return row

    def _message_id(self, watcher: WatcherConfig) -> str:
        return delivery.new_message_id(self.config.delivery.smtp, watcher.name)

    # the feed ------------------------------------------------------------------------------

    def write_feed(self, watcher: WatcherConfig, now: datetime) -> DeliveryAttempt:
        assert watcher.feed is not None
        path = delivery.output_path(self.config, watcher.feed)
        try:
            data = self.feed_xml(
                watcher.watchlists,
                feed_id=f"urn:presswatch:watcher:{watcher.name}",
                title=f"presswatch: {', '.join(watcher.watchlists)} ({watcher.name})",
                now=now,
            )
            delivery.write_atomically(path, data)
        except OSError as exc:
            error = f"cannot write the feed {path}: {exc.strerror}; check the watcher's feed path"
            logger.warning("feed for %s not written: %s", watcher.name, error)
            return DeliveryAttempt(
                watcher.name, "feed", "feed", "failed", error=error, target=str(path)
            )
        except ValueError as exc:  # text XML cannot carry, past xml_text: a bug, not the user's
            error = f"cannot render the feed {path}: {exc}"
            logger.error("feed for %s not written", watcher.name, exc_info=True)
            return DeliveryAttempt(
                watcher.name, "feed", "feed", "failed", error=error, target=str(path)
            )
        return DeliveryAttempt(watcher.name, "feed", "feed", "sent", target=str(path))

    def feed_xml(
        self, watchlists: Sequence[str], *, feed_id: str, title: str, now: datetime
    ) -> bytes:
        with self.sessions() as session:
            groups = feed_groups(session, self.config, watchlists, now)
        return render_atom(
            feed_id=feed_id,
            title=title,
            groups=groups,
            now=now,
            limit=self.config.delivery.feed_entries,
        )
