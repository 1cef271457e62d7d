"""The channels a digest travels by: email (SMTP), webhook (JSON POST), files in a directory.

Each send either completes or raises ``DeliveryError`` with one sentence saying what failed and
what to check; the outbox keeps the delivery pending and tries again on the next run.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import smtplib
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.config import Config, ConfigError, SmtpConfig
from crawler.digests.digest import Digest
from crawler.digests.formats import (
    as_json,
    chart_png,
    render_html,
    render_markdown,
    render_slack,
    render_text,
    subject,
)
from crawler.digests.render import entry_json
from crawler.escaping import file_name_part, header_text, json_safe

USER_AGENT = "presswatch-digest/0.1"


class DeliveryError(Exception):
    """A channel that did not take the digest; the message says what to check. ``uncertain``:
    it may have taken it all the same (no answer after it was sent)."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class PartialDelivery(DeliveryError):
    """Sent to some recipients but not all: recorded as sent, with the refusal noted."""


def new_message_id(smtp: SmtpConfig, watcher: str) -> str:
    """A Message-ID in the sender's domain (spam filters look at that)."""
    address = parseaddr(smtp.from_)[1]
    domain = address.rpartition("@")[2] or socket.getfqdn()
    return make_msgid(idstring=f"presswatch.{watcher}", domain=domain)


def build_email(digest: Digest, *, smtp: SmtpConfig, to: str, message_id: str) -> EmailMessage:
    """multipart/alternative: the text digest, and the HTML one with its chart inline
    (multipart/related, ``cid:``), which is how common mail clients show images without
    asking to load remote content. Headers from stored text (the subject, from headlines) are
    one line with no control characters (``header_text``); the default policy encodes their
    non-ASCII text per RFC 2047, so no header carries a raw line break or 8-bit byte."""
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = smtp.from_
    message["To"] = [Address(addr_spec=a.strip()) for a in to.split(",")]
    message["Date"] = format_datetime(digest.until)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Presswatch-Watcher"] = header_text(digest.watcher.name)
    message.set_content(render_text(digest), subtype="plain", charset="utf-8", cte="8bit")
    chart = digest.chart if digest.chart and digest.chart.series else None
    if chart is None:
        message.add_alternative(render_html(digest), subtype="html", charset="utf-8")
        return message
    cid = make_msgid(idstring="chart", domain=message_id.strip("<>").rpartition("@")[2])
    message.add_alternative(
        render_html(digest, chart_src=f"cid:{cid.strip('<>')}"), subtype="html", charset="utf-8"
    )
    html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        chart_png(chart), maintype="image", subtype="png", cid=cid, filename="mentions.png"
    )
    return message


def send_email(smtp: SmtpConfig, message: EmailMessage) -> None:
    try:
        password = smtp.password()
    except ConfigError as exc:
        raise DeliveryError(str(exc)) from None
    where = f"SMTP server {smtp.host}:{smtp.port}"
    timeout = smtp.timeout.total_seconds()
    client: smtplib.SMTP | None = None
    try:
        client = (
            smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout)
            if smtp.ssl
            else smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        )
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, password or "")
        refused = client.send_message(message)
    except smtplib.SMTPServerDisconnected as exc:
        # Lost mid-conversation: perhaps after the server took the message.
        raise DeliveryError(f"{where} closed the connection: {exc}", uncertain=True) from None
    except TimeoutError as exc:
        raise DeliveryError(f"{where} did not answer in time: {exc}", uncertain=True) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where} refused the login ({exc.smtp_code}): check [delivery.smtp] username "
            "and the password in password_env"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            f"{where} does not offer STARTTLS: set [delivery.smtp] starttls = false "
            "(or ssl = true for port 465)"
        ) from None
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        raise DeliveryError(f"{where} answered {exc.smtp_code} {text}".strip()) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"{where} refused every recipient: {exc.recipients}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where} could not be reached: {exc}") from None
    finally:
        if client is not None:
            # The message is accepted once DATA is answered: a failing QUIT changes nothing.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
    if refused:
        # Some recipients took it: sending again would repeat it for them, so it counts as
        # sent; the refused addresses are the config's to fix.
        raise PartialDelivery(f"{where} refused {', '.join(sorted(refused))}")


def webhook_payload(digest: Digest, message_id: str) -> dict[str, Any]:
    """Slack-compatible ``text`` plus structured ``items`` (one per story) for programs."""
    data = as_json(digest)
    return {
        "text": render_slack(digest),
        "id": message_id,
        "kind": digest.kind,
        "watcher": digest.watcher.name,
        "since": data["since"],
        "until": data["until"],
        "stories": digest.stories,
        "articles": digest.articles,
        "folded": digest.folded,
        "items": [entry_json(g, e) for g in digest.groups for e in g.entries],
        "unhealthy_sources": data["unhealthy_sources"],
    }


def post_webhook(url: str, payload: dict[str, Any], *, key: str, timeout: float) -> None:
    """POST the payload; a 2xx answer is delivery. The ``Idempotency-Key`` header lets a
    receiver drop the repeat of a digest whose answer was lost. The body is UTF-8 JSON
    whatever the stored text holds (``json_safe``: no surrogate to fail the encoding)."""
    # Hook URLs carry secrets in their path or user part: name only the host and port.
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    request = urllib.request.Request(
        url,
        data=json.dumps(json_safe(payload), ensure_ascii=False).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook at {host} answered HTTP {exc.code}") from None
    except (TimeoutError, http.client.HTTPException) as exc:
        # Sent, then no (whole) answer: the receiver may have taken it.
        raise DeliveryError(
            f"webhook at {host} gave no answer in time: {exc!r}", uncertain=True
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook at {host} could not be reached: {reason}") from None


def output_path(config: Config, value: str) -> Path:
    """A watcher's feed or directory path: ``~`` expanded, a relative one taken from the
    config file's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.path.parent / path


def write_atomically(path: Path, data: bytes) -> None:
    """Readers (a feed reader, a web server) see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_digest_files(directory: Path, stem: str, digest: Digest) -> list[Path]:
    """The digest as ``stem.html`` and ``stem.md`` in ``directory``, and nowhere else: the
    stem is made one safe component of a file name (``file_name_part``)."""
    stem = file_name_part(stem)
    written = []
    try:
        for suffix, body in ((".html", render_html(digest)), (".md", render_markdown(digest))):
            path = directory / f"{stem}{suffix}"
            write_atomically(path, body.encode("utf-8"))
            written.append(path)
    except OSError as exc:
        raise DeliveryError(
            f"cannot write the digest into {directory}: {exc.strerror}; check the watcher's "
            "directory and its permissions"
        ) from None
    return written
