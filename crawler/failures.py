"""Names for the ways a request can fail, as counted in stats (``error/<kind>``) and run rows."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer, error
from twisted.python.failure import Failure


def failure_kind(failure: Failure) -> str:
    """``http_404``, ``timeout``, ``robots``, ``redirect_loop``, ``too_large``, ``dns``, ..."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc).lower()
        if "robots.txt" in message:
            return "robots"
        if "redirect" in message:
            return "redirect_loop"
        if "offsite" in message:
            return "offsite"
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
    return type(exc).__name__.lower()
