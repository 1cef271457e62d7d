"""Who may read the web view, and what every response tells the browser.

- Authentication: none on a loopback address without a password (the machine's users only);
  else a password (``[web] password_env``) asked by the login page, which sets a signed session
  cookie (``HttpOnly``, ``SameSite=Lax``; for programs and feed readers, HTTP Basic with any
  user name and that password), and/or a header a trusted reverse proxy sets with the user's
  name (``[web] trusted_proxy_header``). Pages redirect to the login page; the API and feeds
  answer 401.
- CSRF: a random token kept in the session; every state-changing request (POST) must send it
  back in its form, or is refused with 403.
- Headers: a Content-Security-Policy that allows only this server's own script and style (no
  inline script, no eval, no other origin), no framing, no MIME sniffing, no referrer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
OPEN_PATHS = ("/login", "/static/", "/favicon.ico")
CSRF_FIELD = "csrf"


@dataclass(frozen=True, slots=True)
class Access:
    password: str | None = None
    proxy_header: str | None = None

    @property
    def required(self) -> bool:
        return self.password is not None or self.proxy_header is not None


class SecurityHeaders:
    """Adds HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def password_matches(access: Access, given: str) -> bool:
    if access.password is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), access.password.encode("utf-8"))


def _basic_password(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def user_of(access: Access, scope: Scope) -> str | None:
    """Who makes the request, or None when nobody authenticated it."""
    if not access.required:
        return "local"
    headers = Headers(scope=scope)
    if access.proxy_header is not None:
        name = headers.get(access.proxy_header, "").strip()
        if name:
            return name
    session = scope.get("session") or {}
    if access.password is not None:
        if session.get("user"):
            return str(session["user"])
        given = _basic_password(headers)
        if given is not None and password_matches(access, given):
            return "basic"
    return None


def _machine_reader(path: str) -> bool:
    return path.startswith(("/api/", "/feeds/"))


class Authentication:
    """Lets a request through when ``user_of`` names someone (``scope["user_name"]``); else
    a page redirects to the login page and the API and feeds answer 401."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        user = user_of(self.access, scope)
        if user is not None or path.startswith(OPEN_PATHS):
            scope["user_name"] = user
            await self.app(scope, receive, send)
            return
        response: Response
        if _machine_reader(path) or self.access.password is None:
            response = (
                JSONResponse({"error": "authentication required"}, status_code=401)
                if path.startswith("/api/")
                else PlainTextResponse("authentication required\n", status_code=401)
            )
            if self.access.password is not None:
                response.headers["www-authenticate"] = 'Basic realm="presswatch"'
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            response = RedirectResponse("/login?" + _urlencode({"next": target}), status_code=303)
        await response(scope, receive, send)


def _urlencode(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


def csrf_ok(request: Request, form: Any) -> bool:
    expected = request.session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD)
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8"), str(expected).encode("utf-8"))


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (never another site: ``//evil`` or ``https:``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
