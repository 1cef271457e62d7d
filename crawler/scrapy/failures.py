"""Names for the ways a request can fail, as counted in stats (``error/<kind>``) and run rows."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotSupported,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer, error
from twisted.python.failure import Failure


class Refused(IgnoreRequest):
    """A request or response refused by presswatch's own middlewares, for the reason ``kind``
    (``offsite``, ``redirect_not_http``, ``too_slow``, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# What Scrapy's own middlewares say when they drop a request (their exceptions carry no kind).
# Matched before anything else in the message, which may hold the URL.
_SCRAPY_REASONS = (
    ("Forbidden by robots.txt", "robots"),
    ("max redirections reached", "redirect_loop"),
    ("Filtered offsite request", "offsite"),
    # HttpCompressionMiddleware: the body inflated past DOWNLOAD_MAXSIZE (a compression bomb).
    ("exceeded DOWNLOAD_MAXSIZE", "too_large"),
)


def failure_kind(failure: Failure) -> str:
    """``http_404``, ``timeout``, ``robots``, ``redirect_loop``, ``too_large``, ``dns``, ..."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, Refused):
        return exc.kind
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        for phrase, kind in _SCRAPY_REASONS:
            if phrase in message:
                return kind
        return "ignored"
    if isinstance(exc, DownloadTimeoutError | error.TimeoutError | error.TCPTimedOutError):
        return "timeout"
    if isinstance(exc, DownloadCancelledError | defer.CancelledError):
        return "too_large"
    if isinstance(exc, CannotResolveHostError | error.DNSLookupError):
        return "dns"
    if isinstance(exc, DownloadConnectionRefusedError | error.ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ResponseDataLossError | DownloadFailedError | error.ConnectionLost):
        return "connection_lost"
    if isinstance(exc, NotSupported):
        return "unsupported_scheme"  # file:, data:, ftp:, s3: have no download handler here
    return type(exc).__name__.lower()
