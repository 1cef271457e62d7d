"""A file-backed news site server on loopback, for ``presswatch demo`` and the tests.

A site is a folder per host (``news/``, ``wire/``); a URL path maps to a file, ``/dir/`` to
``dir/index.html``. In text files, ``{{news}}`` and ``{{wire}}`` become those hosts' base URLs.
``X.gz`` may be served from ``X.gz.src`` (substituted, then gzipped). A host's ``_routes.toml``
overrides paths: ``status``, ``location``, ``content_type`` ("" sends none), ``delay`` seconds,
``size`` (a generated page of that many bytes), ``file``. Later roots overlay earlier ones.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HOSTS = {"news": "127.0.0.1", "wire": "127.0.0.2"}
_TYPES = {
    "": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".gz": "application/gzip",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
_BINARY = {".gz", ".pdf", ".png", ".jpg", ".jpeg"}


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    host: str
    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class _Host:
    name: str
    address: str
    dirs: list[Path]
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://{self.address}:{self.server.server_address[1]}"


class SiteServer:
    """Serve one or more site roots, each host on its own loopback address and a free port."""

    def __init__(self, roots: Sequence[Path], hosts: dict[str, str] | None = None) -> None:
        self.roots = [Path(r) for r in roots]
        self.requests: list[LoggedRequest] = []
        # Requests being answered per host now, and the most there ever were at once.
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        for name, address in (hosts or DEFAULT_HOSTS).items():
            dirs = [root / name for root in self.roots if (root / name).is_dir()]
            if dirs:
                self._hosts[name] = _Host(name, address, dirs)
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SiteServer:
        for host in self._hosts.values():
            host.routes = self._load_routes(host)
            host.server = ThreadingHTTPServer((host.address, 0), self._handler(host))
            host.server.daemon_threads = True
            thread = threading.Thread(
                target=host.server.serve_forever, daemon=True, name=f"site-{host.name}"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for host in self._hosts.values():
            if host.server is not None:
                host.server.shutdown()
                host.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def base(self, host: str) -> str:
        return self._hosts[host].base

    def url(self, host: str, path: str) -> str:
        return self.base(host) + path

    def requested(self, host: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (host is None or r.host == host) and (path is None or r.path == path)
            ]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving -------------------------------------------------------------------------------

    @staticmethod
    def _load_routes(host: _Host) -> dict[str, dict[str, Any]]:
        routes: dict[str, dict[str, Any]] = {}
        for directory in host.dirs:
            file = directory / "_routes.toml"
            if file.is_file():
                routes.update(tomllib.loads(file.read_text(encoding="utf-8")))
        return routes

    def _substitute(self, data: bytes) -> bytes:
        for name, host in self._hosts.items():
            data = data.replace(b"{{" + name.encode() + b"}}", host.base.encode())
        return data

    def _find(self, host: _Host, path: str) -> Path | None:
        relative = path.lstrip("/")
        if not relative or relative.endswith("/"):
            relative += "index.html"
        if ".." in Path(relative).parts:
            return None
        for directory in reversed(host.dirs):
            candidate = directory / relative
            if candidate.is_file():
                return candidate
            source = directory / (relative + ".src")
            if source.is_file():
                return source
        return None

    def _body(self, file: Path, url_path: str) -> tuple[bytes, str]:
        data = file.read_bytes()
        suffix = Path(url_path).suffix.lower()
        if file.suffix == ".src":
            data = self._substitute(data)
            if suffix == ".gz":
                data = gzip.compress(data, mtime=0)
        elif suffix not in _BINARY:
            data = self._substitute(data)
        return data, _TYPES.get(suffix, "application/octet-stream")

    def _handler(self, host: _Host) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "presswatch-site/1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                path = urlsplit(self.path).path
                # Counted while the answer is being made (a route's delay included), not while
                # it is written: a client may send its next request as soon as it has read one.
                with server._lock:
                    now = server.in_flight[host.name] = server.in_flight.get(host.name, 0) + 1
                    most = server.max_in_flight.get(host.name, 0)
                    server.max_in_flight[host.name] = max(most, now)
                try:
                    status, headers, body = server._respond(host, path)
                finally:
                    with server._lock:
                        server.in_flight[host.name] -= 1
                if status == 200 and _not_modified(self.headers, headers):
                    status, body = 304, b""
                with server._lock:
                    server.requests.append(
                        LoggedRequest(
                            host.name,
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            status,
                        )
                    )
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def _respond(self, host: _Host, path: str) -> tuple[int, dict[str, str], bytes]:
        route = host.routes.get(path, {})
        if route.get("delay"):
            time.sleep(float(route["delay"]))
        headers: dict[str, str] = {}
        if "location" in route:
            location = self._substitute(str(route["location"]).encode()).decode()
            headers["Location"] = location
            return int(route.get("status", 301)), headers, b""
        if "size" in route:
            body = _generated_page(int(route["size"]))
            content_type = "text/html; charset=utf-8"
        else:
            file = self._find(host, str(route.get("file", path)))
            if file is None:
                return 404, {"Content-Type": "text/html; charset=utf-8"}, _NOT_FOUND
            body, content_type = self._body(file, path)
            headers["Last-Modified"] = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
            headers["ETag"] = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        content_type = route.get("content_type", content_type)
        if content_type:
            headers["Content-Type"] = content_type
        return int(route.get("status", 200)), headers, body


def _not_modified(request: Any, response: dict[str, str]) -> bool:
    """Whether a conditional GET may be answered 304, as RFC 9110 says: If-None-Match decides
    when present; otherwise If-Modified-Since against Last-Modified."""
    etag = response.get("ETag")
    if_none_match = request.get("If-None-Match")
    if if_none_match is not None:
        return etag is not None and etag in {t.strip() for t in if_none_match.split(",")}
    since, modified = request.get("If-Modified-Since"), response.get("Last-Modified")
    if since is None or modified is None:
        return False
    try:
        return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(
            since
        )
    except (TypeError, ValueError):
        return False


_NOT_FOUND = (
    b"<!doctype html><html><head><title>404</title></head><body><h1>Not found</h1></body></html>"
)


def _generated_page(size: int) -> bytes:
    head = b"<!doctype html><html><head><meta charset='utf-8'><title>Big</title></head><body><p>"
    tail = b"</p></body></html>"
    filler = b"lorem ipsum dolor sit amet " * (max(size - len(head) - len(tail), 0) // 27 + 1)
    return head + filler[: max(size - len(head) - len(tail), 0)] + tail
