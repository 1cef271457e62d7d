"""The web view's routes: HTML pages, the JSON API under /api/, and the Atom feeds.

Handlers are plain functions, which Starlette runs in its thread pool: each opens a short
read-only session of its own. Pages are Jinja2 templates with autoescaping on, so every stored
text (titles and bodies are written by whoever runs the site crawled) arrives as text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crawler.config import Config
from crawler.escaping import xml_text
from crawler.units import parse_since
from crawler.web import feeds, reads, status, svgchart
from crawler.web import search as searching
from crawler.web.activity import Activity, Snapshot, flagged_since
from crawler.web.activity import compute as compute_activity
from crawler.web.security import (
    CSRF_FIELD,
    Access,
    Authentication,
    SecurityHeaders,
    csrf_ok,
    csrf_token,
    password_matches,
    safe_next,
)
from storage import search
from storage.types import iso

FIRST_VISIT = timedelta(days=7)  # "new" on a first visit: what changed in the last week
VISIT_GAP = timedelta(minutes=30)  # a visit ends after this long without looking
SESSION_DAYS = 14


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # ASCII: a stored surrogate or control character is escaped, never invalid UTF-8.
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class WebView:
    def __init__(self, config: Config, engine: Engine, access: Access) -> None:
        self.config = config
        self.engine = engine
        self.access = access
        self.templates = Environment(
            loader=PackageLoader("crawler.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals["urlencode"] = urlencode
        self.templates.filters["href"] = _href
        self.activity = Snapshot(self._activity)
        self.feeds: dict[str, Snapshot] = {}
        self.health = Snapshot(self._health, fresh_for=status.HEALTH_FRESH_FOR)

    def _health(self) -> dict[str, dict[str, Any]]:
        with self.session() as session:
            return status.health_of_all(session, self.config, datetime.now(UTC))

    def _activity(self) -> Activity:
        with self.session() as session:
            names = [w.name for w in self.config.watchlists]
            return compute_activity(session, names, datetime.now(UTC))

    def _fresh(self, session: Session, activity: Activity) -> dict[str, dict[int, datetime]]:
        """What was flagged after ``activity`` (a second of overlap: clocks and commits)."""
        names = [w.name for w in self.config.watchlists]
        return flagged_since(session, activity.at - timedelta(seconds=1), names)

    # -- helpers ------------------------------------------------------------------------------

    def session(self) -> Session:
        return Session(self.engine)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(name).render(
            request=request,
            path=request.url.path,
            user=request.scope.get("user_name"),
            login=self.access.password is not None,
            csrf=csrf_token(request),
            csrf_field=CSRF_FIELD,
            **context,
        )
        # What HTML cannot carry goes, as from every exit (surrogates have no UTF-8 at all).
        return HTMLResponse(xml_text(html), status_code=status)

    def not_found(self, request: Request, what: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSON({"error": what}, status_code=404)
        return self.page(request, "error.html", status=404, title="Not found", message=what)

    def _since_visit(self, request: Request, now: datetime) -> datetime:
        """Where "new" starts: the end of the reader's previous visit (a visit ends after
        VISIT_GAP without a look at the overview), else FIRST_VISIT ago; kept in the session."""
        seen = _parse_iso(request.session.get("seen_at"))
        since = _parse_iso(request.session.get("new_since"))
        if seen is None or since is None:
            since = now - FIRST_VISIT
        elif now - seen > VISIT_GAP:
            since = seen
        request.session["seen_at"] = now.isoformat()
        request.session["new_since"] = since.isoformat()
        return since

    # -- pages --------------------------------------------------------------------------------

    def overview(self, request: Request) -> Response:
        now = datetime.now(UTC)
        if request.url.path.startswith("/api/"):
            try:
                since = parse_since(request.query_params.get("since") or "1d", now)
            except ValueError as error:
                return JSON({"error": f"since: {error}"}, status_code=400)
        else:
            since = self._since_visit(request, now)
        activity = self.activity.get()
        with self.session() as session:
            fresh = self._fresh(session, activity)
            views = reads.overview(session, self.config, since, activity, fresh)
        if request.url.path.startswith("/api/"):
            return JSON(
                {
                    "new_since": iso(since),
                    "breaking_rule": reads.BREAKING_RULE,
                    "watchlists": [v.as_dict() for v in views],
                }
            )
        return self.page(
            request,
            "overview.html",
            title="Overview",
            views=views,
            since=iso(since),
            rule=reads.BREAKING_RULE,
        )

    async def mark_read(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form):
            return self.forbidden(request)
        request.session["new_since"] = datetime.now(UTC).isoformat()
        request.session["seen_at"] = datetime.now(UTC).isoformat()
        return RedirectResponse("/", status_code=303)

    def forbidden(self, request: Request) -> Response:
        return self.page(
            request,
            "error.html",
            status=403,
            title="Refused",
            message="This form's security token is missing or out of date: reload the page "
            "and send it again.",
        )

    def watchlist(self, request: Request) -> Response:
        name = request.path_params["name"]
        known = {w.name: w for w in self.config.watchlists}
        if name not in known:
            return self.not_found(request, f"no watchlist named {name!r}")
        activity = self.activity.get()
        with self.session() as session:
            fresh = self._fresh(session, activity)
            stories = reads.watchlist_stories(session, name, activity, fresh.get(name, {}))
        days, counts, rate = activity.days, activity.series[name], activity.breaking[name]
        if request.url.path.startswith("/api/"):
            return JSON(
                {
                    "name": name,
                    "description": known[name].description,
                    "query": known[name].query,
                    "stories": [s.as_dict() for s in stories],
                    "mentions_per_day": {
                        d.isoformat(): c for d, c in zip(days, counts, strict=True)
                    },
                    "breaking": rate.as_dict(),
                    "feed": f"/feeds/{name}.atom",
                }
            )
        return self.page(
            request,
            "watchlist.html",
            title=name,
            watchlist=known[name],
            stories=stories,
            chart=svgchart.bars(days, counts),
            breaking=rate,
            rule=reads.BREAKING_RULE,
        )

    def story(self, request: Request) -> Response:
        story_id = request.path_params["story_id"]
        article = _int(request.query_params.get("article"))
        revision = _int(request.query_params.get("revision"))
        with self.session() as session:
            view = reads.story(session, story_id, article, revision)
        if view is None:
            return self.not_found(request, f"no story {story_id}")
        if request.url.path.startswith("/api/"):
            return JSON(view.as_dict())
        return self.page(request, "story.html", title=view.article["title"], view=view)

    def search(self, request: Request) -> Response:
        params = request.query_params
        api = request.url.path.startswith("/api/")
        query = (params.get("q") or "").strip()
        form = {k: params.get(k) or "" for k in ("q", "since", "source", "language", "watchlist")}
        trial_days = _int(params.get("try"))
        error = None
        results = trial = None
        problems: list[str] = []
        filters = searching.Filters()
        if query:
            error = searching.check(query)
        since = None
        if params.get("since"):
            try:
                since = parse_since(params["since"])
            except ValueError as problem:
                problems.append(f"since: {problem}")
        source = params.get("source") or None
        if source and source not in {s.name for s in self.config.sources}:
            problems.append(f"source: no source named {source!r}")
        watchlist = params.get("watchlist") or None
        if watchlist and watchlist not in {w.name for w in self.config.watchlists}:
            problems.append(f"watchlist: no watchlist named {watchlist!r}")
        filters = searching.Filters(since, source, params.get("language") or None, watchlist)
        with self.session() as session:
            languages = search.languages(session)
            if query and error is None and not problems:
                if trial_days:
                    days = max(1, min(trial_days, 90))
                    trial = searching.try_query(session, query, days, datetime.now(UTC))
                else:
                    size = max(1, min(_int(params.get("limit")) or searching.PAGE, 100))
                    results = searching.search(
                        session, query, filters, cursor=params.get("after"), page=size
                    )
        if api:
            if not query:
                return JSON({"error": "q: give a query"}, status_code=400)
            if error is not None:
                return JSON(
                    {"error": str(error), "position": error.position, "problem": error.problem},
                    status_code=400,
                )
            if problems:
                return JSON({"error": "; ".join(problems)}, status_code=400)
            assert results is not None or trial is not None
            return JSON((trial or results).as_dict())  # type: ignore[union-attr]
        next_link = None
        if results is not None and results.next_cursor:
            next_link = "/search?" + urlencode(
                {**{k: v for k, v in form.items() if v}, "after": results.next_cursor}
            )
        return self.page(
            request,
            "search.html",
            status=400 if error is not None or problems else 200,
            title="Search",
            form=form,
            query=query,
            error=error,
            problems=problems,
            results=results,
            trial=trial,
            trial_days=trial_days or searching.TRY_DAYS,
            next_link=next_link,
            continued=bool(params.get("after")),
            sources=[s.name for s in self.config.sources],
            watchlists=[w.name for w in self.config.watchlists],
            languages=languages,
        )

    def sources(self, request: Request) -> Response:
        with self.session() as session:
            data = status.sources(session, self.config, self.health.get())
        if request.url.path.startswith("/api/"):
            return JSON(data)
        return self.page(request, "sources.html", title="Sources", data=data)

    def digests(self, request: Request) -> Response:
        with self.session() as session:
            watchers = status.digests(session, self.config, datetime.now(UTC))
        if request.url.path.startswith("/api/"):
            return JSON({"watchers": watchers})
        return self.page(request, "digests.html", title="Digests", watchers=watchers)

    def feed(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in {w.name for w in self.config.watchlists}:
            return self.not_found(request, f"no watchlist named {name!r}")
        # One feed per watchlist, made at most every feeds.FRESH_FOR seconds; its self link
        # is where it was first asked for.
        href = str(request.url.replace(query=""))
        snapshot = self.feeds.get(name)
        if snapshot is None:
            snapshot = self.feeds[name] = Snapshot(
                lambda: self._feed(name, href), fresh_for=feeds.FRESH_FOR
            )
        return Response(snapshot.get(), media_type="application/atom+xml; charset=utf-8")

    def _feed(self, name: str, href: str) -> bytes:
        with self.session() as session:
            return feeds.feed_xml(session, self.config, name, href)

    # -- login --------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if self.access.password is None:  # nothing to log in with
            return RedirectResponse(target, status_code=303)
        if request.method == "GET":
            return self.page(request, "login.html", title="Log in", target=target, failed=False)
        form = await request.form()
        if not csrf_ok(request, form):
            return self.forbidden(request)
        target = safe_next(str(form.get("next") or "/"))
        if not password_matches(self.access, str(form.get("password") or "")):
            return self.page(
                request, "login.html", status=401, title="Log in", target=target, failed=True
            )
        # A new session: the token of the anonymous one does not carry over.
        request.session.clear()
        request.session["user"] = "analyst"
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form):
            return self.forbidden(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)


def _href(url: str | None) -> str:
    """A stored URL fit for a link: http(s) only (never ``javascript:`` or ``data:``)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return "#"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _parse_iso(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def inline(handler: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A page rendered in the worker's event loop, not in a thread of its pool.

    A page is Python work under the interpreter's lock: threads of one process render two
    pages no faster than one after the other. In the pool, a worker busy with a page still
    accepted new connections, and with 4 readers at once one worker often held two or three
    pages while another sat idle (the slowest pages took 3.5 times as long as alone, against
    2 for an even share of the 2 cores). Rendered in the loop, a busy worker takes no
    connection until its page is done, so each goes to a worker that is free, as with
    pre-forked synchronous servers; hence as many workers as readers at once
    (``[web] workers``). Every page reads a local database: none waits on the network.
    """

    async def render(request: Request) -> Response:
        return handler(request)

    return render


def create_app(config: Config, engine: Engine, access: Access, secret: str) -> Starlette:
    view = WebView(config, engine, access)
    static = resources.files("crawler.web") / "static"

    def both(path: str, handler: Callable[[Request], Response]) -> list[Route]:
        return [Route(path, inline(handler)), Route("/api" + path, inline(handler))]

    routes = [
        *both("/", view.overview),
        Route("/api/overview", inline(view.overview)),
        Route("/read", view.mark_read, methods=["POST"]),
        *both("/watchlists/{name}", view.watchlist),
        *both("/stories/{story_id:int}", view.story),
        *both("/search", view.search),
        *both("/sources", view.sources),
        *both("/digests", view.digests),
        Route("/feeds/{name}.atom", inline(view.feed)),
        Route("/login", view.login, methods=["GET", "POST"]),
        Route("/logout", view.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie="presswatch_session",
            max_age=SESSION_DAYS * 86400,
            same_site="lax",
        ),
        Middleware(Authentication, access=access),
    ]
    return Starlette(routes=routes, middleware=middleware)
