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
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config, WatcherConfig
from crawler.digests import delivery
from crawler.digests.atom import feed_groups, render_atom
from crawler.digests.digest import Digest, group_entries, mentions_chart, unhealthy_sources
from storage import deliveries as outbox
from storage.engine import make_sessionmaker
from storage.models import Article, Delivery, WatchMatch

logger = logging.getLogger(__name__)

OUTBOX_CHANNELS = ("email", "webhook", "directory")
# A sending attempt older than this by a process on another host is taken as interrupted.
STALE_ATTEMPT = timedelta(minutes=15)
# Matches are written with their time before their transaction commits; looking this far
# behind the last digest catches one committed late (the items' key prevents repeats).
COMMIT_LAG = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Outcome:
    watcher: str
    channel: str
    kind: str  # digest, alert or feed
    status: str  # sent, failed, nothing (nothing to send), busy (another sender has it)
    delivery_id: int | None = None
    stories: int = 0
    articles: int = 0
    error: str | None = None
    target: str | None = None  # a file written (directory, feed)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


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
    def __init__(self, engine: Engine, config: Config) -> None:
        self.config = config
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        # host:pid:start: the start time tells this process from a later one given the same
        # pid (a container's daemon is pid 1 after every restart).
        self.sender = f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"

    # runs ----------------------------------------------------------------------------------

    def run_digest(self, watcher: WatcherConfig, now: datetime | None = None) -> list[Outcome]:
        """Deliver the watcher's digest on each of its channels, and whatever is pending."""
        now = now or datetime.now(UTC)
        results = []
        for channel in watcher.channels:
            if channel == "feed":
                results.append(self.write_feed(watcher, now))
                continue
            with self.sessions.begin() as session:
                ids, _digest = self._record_digest(session, watcher, channel, now)
            results += [self._attempt(i) for i in ids] or [
                Outcome(watcher.name, channel, "digest", "nothing")
            ]
        with self.sessions.begin() as session:
            outbox.set_last_digest_run(session, watcher.name, now)
        return results

    def run_alerts(self, since: datetime, now: datetime | None = None) -> list[Outcome]:
        """Send urgent watchlists' matches new or updated since ``since`` to their watchers at
        once (and retry alerts still pending). The next digest does not repeat them."""
        now = now or datetime.now(UTC)
        urgent = {w.name for w in self.config.watchlists if w.priority == "urgent"}
        results: list[Outcome] = []
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
                results += [self._attempt(i) for i in ids]
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
                return self._digest(session, watcher, "digest", start, now, rows, 0)
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
            return self._digest(session, watcher, "digest", since or start, now, listed, folded)

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
                return to_send, self._digest(session, watcher, "digest", since, now, [], 0)
            to_send.append(digest_row.id)
        else:
            # Nothing, or only later copies of stories already sent: nothing to tell yet
            # (those copies are counted in the next digest that has something to tell).
            return to_send, self._digest(session, watcher, "digest", since, now, [], 0)
        session.flush()
        return to_send, self._digest_of(session, digest_row)

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
            if row.kind == "alert" and not (row.status == "sending" and self._busy(row, now))
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

    def _busy(self, row: Delivery, now: datetime) -> bool:
        """Is another live process sending ``row`` right now? (An attempt older than
        STALE_ATTEMPT is over, whatever became of its process: sends time out long before.)"""
        attempted = row.attempted_at
        if row.sender == self.sender or attempted is None or now - attempted >= STALE_ATTEMPT:
            return False
        host, pid, started = (row.sender or "::").split(":", 2)
        if host == socket.gethostname() and pid.isdigit():
            return _started(int(pid)) == started
        return True

    # sending -------------------------------------------------------------------------------

    def _attempt(self, delivery_id: int) -> Outcome:
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None
            watcher = self._watcher(row.watcher)
            base = Outcome(row.watcher, row.channel, row.kind, "busy", row.id)
            if row.status == "sent" or watcher is None:
                return base
            if row.status == "sending" and self._busy(row, now):
                return base
            expected = row.status
            if not outbox.claim(session, row, expected=expected, sender=self.sender, now=now):
                return base
            digest = self._digest_of(session, row)
            message_id, channel, kind = row.message_id, row.channel, row.kind
            created = row.created_at
        error: str | None = None
        uncertain = False
        target: str | None = None
        try:
            target = self._send(watcher, channel, digest, message_id, delivery_id, created)
        except delivery.PartialDelivery as exc:
            logger.warning("%s digest for %s: %s", channel, watcher.name, exc)
        except delivery.DeliveryError as exc:
            error, uncertain = str(exc), exc.uncertain
        except Exception as exc:  # a bug must not leave the delivery claimed for good
            logger.error("sending %s %s for %s failed", kind, channel, watcher.name, exc_info=True)
            error, uncertain = f"unexpected error: {exc!r}", True
        with self.sessions.begin() as session:
            outbox.finish(
                session, delivery_id, error=error, now=datetime.now(UTC), uncertain=uncertain
            )
        if error:
            logger.warning(
                "%s %s for %s not delivered, kept to retry on the next run: %s",
                kind,
                channel,
                watcher.name,
                error,
            )
        else:
            logger.info(
                "%s %s for %s delivered: %d stories (%d articles)",
                kind,
                channel,
                watcher.name,
                digest.stories,
                digest.articles,
            )
        return Outcome(
            watcher.name,
            channel,
            kind,
            "failed" if error else "sent",
            delivery_id,
            digest.stories,
            digest.articles,
            error,
            target,
        )

    def _send(
        self,
        watcher: WatcherConfig,
        channel: str,
        digest: Digest,
        message_id: str,
        delivery_id: int,
        created: datetime,
    ) -> str | None:
        settings = self.config.delivery
        if channel == "email":
            assert watcher.email is not None
            message = delivery.build_email(
                digest, smtp=settings.smtp, to=watcher.email, message_id=message_id
            )
            delivery.send_email(settings.smtp, message)
            return watcher.email
        if channel == "webhook":
            assert watcher.webhook is not None
            delivery.post_webhook(
                watcher.webhook,
                delivery.webhook_payload(digest, message_id),
                key=message_id,
                timeout=settings.webhook.timeout.total_seconds(),
            )
            return None
        if channel == "directory":
            assert watcher.directory is not None
            # Named from the watcher, the time and the delivery, never from article text;
            # write_digest_files keeps the name one safe component of a file name.
            local = created.astimezone(watcher.zone).strftime("%Y-%m-%d-%H%M")
            stem = f"{watcher.name}-{local}-{digest.kind}-{delivery_id}"
            written = delivery.write_digest_files(self._path(watcher.directory), stem, digest)
            return str(written[0])
        raise AssertionError(f"unknown channel {channel}")

    def write_feed(self, watcher: WatcherConfig, now: datetime) -> Outcome:
        assert watcher.feed is not None
        path = self._path(watcher.feed)
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
            return Outcome(watcher.name, "feed", "feed", "failed", error=error, target=str(path))
        except ValueError as exc:  # text XML cannot carry, past xml_text: a bug, not the user's
            error = f"cannot render the feed {path}: {exc}"
            logger.error("feed for %s not written", watcher.name, exc_info=True)
            return Outcome(watcher.name, "feed", "feed", "failed", error=error, target=str(path))
        return Outcome(watcher.name, "feed", "feed", "sent", target=str(path))

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

    # reading back --------------------------------------------------------------------------

    def _digest_of(self, session: Session, row: Delivery) -> Digest:
        watcher = self._watcher(row.watcher)
        assert watcher is not None
        listed: list[tuple[WatchMatch, Article]] = []
        seen: set[tuple[str, int]] = set()
        folded = 0
        for item, match, article in outbox.items_of(session, row.id):
            if item.folded:
                folded += 1
            # An article that no longer matches is left out; two versions of one match (it
            # was updated while the digest waited) are one entry, as it now reads.
            elif match is not None and (match.watchlist, article.id) not in seen:
                seen.add((match.watchlist, article.id))
                listed.append((match, article))
        return self._digest(
            session, watcher, row.kind, row.period_start, row.period_end, listed, folded
        )

    def _digest(
        self,
        session: Session,
        watcher: WatcherConfig,
        kind: str,
        since: datetime,
        until: datetime,
        rows: Sequence[tuple[WatchMatch, Article]],
        folded: int,
    ) -> Digest:
        groups = group_entries(self.config, watcher.watchlists, rows)
        if kind == "alert":
            return Digest(watcher, since, until, groups, kind="alert")
        return Digest(
            watcher,
            since,
            until,
            groups,
            folded=folded,
            unhealthy=unhealthy_sources(session, self.config),
            chart=mentions_chart(session, watcher, until),
        )

    def _watcher(self, name: str) -> WatcherConfig | None:
        return next((w for w in self.config.watchers if w.name == name), None)

    def _path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.config.path.parent / path


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot), "" if there is no such process;
    "?" where /proc cannot tell (then a live pid is taken as the same process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "" if Path("/proc/self/stat").exists() else _alive(pid)
    except OSError:
        return "?"
    # The command name (field 2) may hold spaces and parentheses: count after its end.
    return stat.rpartition(")")[2].split()[19]


def _alive(pid: int) -> str:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except PermissionError:
        return "?"
    return "?"
