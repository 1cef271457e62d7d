"""Sending one recorded delivery (the outbox's steps 2 to 4): *claim* it for this process,
*send* it over its channel (email, webhook, files in a directory), *mark* it sent, or pending
again with the error; and telling whether another live process is sending one right now.

A process is known as host:pid:start, the start time telling it from a later process given the
same pid; an attempt older than STALE_ATTEMPT is over, whatever became of its process.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config, WatcherConfig
from crawler.digests import delivery
from crawler.digests.digest import Digest, delivery_digest, watcher_named
from storage import deliveries as outbox
from storage.models import Delivery

logger = logging.getLogger(__name__)

# A sending attempt older than this by a process on another host is taken as interrupted.
STALE_ATTEMPT = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """How one delivery, or one feed written, went: what a run reports."""

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


class Sender:
    """Sends recorded deliveries as this process."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions
        # host:pid:start: the start time tells this process from a later one given the same
        # pid (a container's daemon is pid 1 after every restart).
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"

    def busy(self, row: Delivery, now: datetime) -> bool:
        """Is another live process sending ``row`` right now? (An attempt older than
        STALE_ATTEMPT is over, whatever became of its process: sends time out long before.)"""
        attempted = row.attempted_at
        if row.sender == self.identity or attempted is None or now - attempted >= STALE_ATTEMPT:
            return False
        host, pid, started = (row.sender or "::").split(":", 2)
        if host == socket.gethostname() and pid.isdigit():
            return _started(int(pid)) == started
        return True

    def attempt(self, delivery_id: int) -> DeliveryAttempt:
        """Claim the delivery, send it, and record how that went."""
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None
            watcher = watcher_named(self.config, row.watcher)
            base = DeliveryAttempt(row.watcher, row.channel, row.kind, "busy", row.id)
            if row.status == "sent" or watcher is None:
                return base
            if row.status == "sending" and self.busy(row, now):
                return base
            expected = row.status
            if not outbox.claim(session, row, expected=expected, sender=self.identity, now=now):
                return base
            digest = delivery_digest(session, self.config, row)
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
        return DeliveryAttempt(
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
            written = delivery.write_digest_files(
                delivery.output_path(self.config, watcher.directory), stem, digest
            )
            return str(written[0])
        raise AssertionError(f"unknown channel {channel}")


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
