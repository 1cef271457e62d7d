"""The 304 pre-check's robots.txt read: bounded in time whatever the site does, and never led
off the web by a redirect."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.scrapy.precheck import _robots_refusal

DRIP_ENDED = threading.Event()


class _Robots(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers["Host"] or ""
        if self.path != "/robots.txt":
            self.send_error(404)
        elif host.startswith("127.0.0.1"):  # a byte every 0.2 s, for ever
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(0.2)  # well within each read's timeout: only a deadline ends it
            except OSError:
                DRIP_ENDED.set()  # the reader hung up
                return
        else:  # 127.0.0.2: off the web
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/robots.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("0.0.0.0", 0), _Robots)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def test_a_robots_txt_that_never_ends_holds_the_check_two_timeouts_at_most(server: int) -> None:
    started = time.monotonic()
    why = _robots_refusal([f"http://127.0.0.1:{server}/rss.xml"], "presswatch-test", 1.0)
    assert time.monotonic() - started < 4.0
    assert why == "robots.txt did not answer within 2 s"  # the crawl decides


def test_the_abandoned_read_stops_too_and_leaves_no_thread_behind(server: int) -> None:
    # A read left going would keep its pool thread, and Python joins those at exit: the
    # process would never end.
    DRIP_ENDED.clear()
    before = {t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")}
    _robots_refusal([f"http://127.0.0.1:{server}/rss.xml"], "presswatch-test", 0.5)
    assert DRIP_ENDED.wait(5.0), "the robots.txt read was still going 5 s after its deadline"
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        left = {
            t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")
        } - before
        if not any(t.is_alive() for t in left):
            break
        time.sleep(0.05)
    assert not any(t.is_alive() for t in left)


def test_a_robots_txt_redirect_off_the_web_is_not_followed(server: int) -> None:
    why = _robots_refusal([f"http://127.0.0.2:{server}/rss.xml"], "presswatch-test", 5.0)
    assert why is not None and "answered 302" in why
