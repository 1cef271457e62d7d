"""Source diagnostics: a source whose pages turn into empty shells after a redesign is reported
broken after the configured number of crawls; a listing that moved permanently is written
into the config at its new address. Real crawls of a loopback site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.demo.server import SiteServer
from storage.urlkeys import url_key
from tests.conftest import presswatch, start_daemon

HOST = {"shells": "127.0.3.7"}
ARTICLE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
)
# After the redesign: the page is filled by script, the HTML carries no text.
SHELL = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body><div id='app'></div><script src='/static/app.js'></script></body></html>"
)
SENTENCE = (
    "Negotiators from both sides met again on Tuesday to discuss the exchange of prisoners "
    "and the reopening of the main road, officials said, while shelling continued overnight. "
)


def _publish(folder: Path, numbers: range, template: str) -> None:
    """Articles ``numbers`` as pages of ``template``, and a feed listing just them."""
    now = datetime.now(UTC)
    items = []
    for n in numbers:
        title = f"Prisoner exchange talks continue, report {n}"
        paragraphs = "".join(f"<p>{SENTENCE * 4}{n}.{p}</p>" for p in range(5))
        (folder / "news" / f"{n}.html").write_text(
            template.format(title=title, paragraphs=paragraphs), encoding="utf-8"
        )
        items.append(
            f"<item><title>{title}</title><link>{{{{shells}}}}/news/{n}.html</link>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
        )
    (folder / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Shells</title>'
        f"<link>{{{{shells}}}}/</link><description>x</description>{''.join(items)}</channel></rss>",
        encoding="utf-8",
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[SiteServer, Path]]:
    folder = tmp_path / "site" / "shells"
    (folder / "news").mkdir(parents=True)
    (folder / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    # The feed's old address answers with a permanent redirect to the new one.
    (folder / "_routes.toml").write_text(
        '["/rss"]\nstatus = 301\nlocation = "/feed.xml"\n'
        '["/tmp-rss"]\nstatus = 302\nlocation = "/feed.xml"\n',
        encoding="utf-8",
    )
    _publish(folder, range(0, 4), ARTICLE)
    server = SiteServer([tmp_path / "site"], HOST).start()
    yield server, folder
    server.stop()


def _config(tmp_path: Path, server: SiteServer) -> Path:
    config = tmp_path / "presswatch.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "health.db"}"\n\n'
        '[crawl]\nuser_agent = "presswatch-test/0.1"\ntimeout = "5s"\nretries = 0\nworkers = 0\n\n'
        "[daemon]\nunhealthy_after_failures = 2   # two crawls in a row\n\n"
        '[[watchlists]]\nname = "talks"\nquery = "prisoner"\n\n'
        '[[watchers]]\nname = "analyst"\nwatchlists = ["talks"]\ndirectory = "digests/"\n\n'
        "[[sources]]\n"
        'name = "shells"     # the feed moved: /rss answers 301 to /feed.xml\n'
        f'feeds = ["{server.url("shells", "/rss")}"]\n',
        encoding="utf-8",
    )
    return config


def _health(config: Path, cwd: Path) -> dict[str, object]:
    result = presswatch("--config", str(config), "status", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (source,) = json.loads(result.stdout)["sources"]
    return dict(source["health"])


def _crawl(config: Path, cwd: Path) -> dict[str, object]:
    result = presswatch("--config", str(config), "crawl", "--json", "-q", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    return dict(summary)


def test_a_source_turned_into_empty_shells_is_broken_after_the_configured_crawls(
    site: tuple[SiteServer, Path], tmp_path: Path
) -> None:
    server, folder = site
    config = _config(tmp_path, server)
    assert _crawl(config, tmp_path)["new"] == 4
    health = _health(config, tmp_path)
    assert health["state"] == "healthy"
    # Its feed redirects (a move noted, which leaves it healthy; see the next test).
    assert [p["kind"] for p in health["problems"]] == ["moved"]  # type: ignore[attr-defined]
    # The redesign: new articles, every page an empty shell.
    _publish(folder, range(4, 8), SHELL)
    assert _crawl(config, tmp_path)["empty"] == 4
    assert _health(config, tmp_path)["state"] == "healthy"  # one crawl: not yet
    _publish(folder, range(8, 12), SHELL)
    assert _crawl(config, tmp_path)["empty"] == 4
    health = _health(config, tmp_path)
    assert health["state"] == "broken"
    assert str(health["reason"]).startswith(
        "100% of its article pages gave no article text in each of its last 2 crawls "
        "(before: 0%): open one of its articles"
    )
    # Shown with what to do by `sources list`, and in the watcher's digest.
    listed = presswatch("--config", str(config), "sources", "list", cwd=tmp_path)
    assert "shells  (every 15m)  BROKEN: 100% of its article pages" in listed.stdout
    digest = presswatch(
        "--config", str(config), "digest", "analyst", "--format", "json", cwd=tmp_path
    )
    assert json.loads(digest.stdout)["unhealthy_sources"][0]["state"] == "broken"


def test_a_listing_moved_permanently_is_written_at_its_new_address(
    site: tuple[SiteServer, Path], tmp_path: Path
) -> None:
    from crawler.config import load_config
    from crawler.sources.moves import settle_move
    from storage import listings, runs
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import ensure_schema

    server, _ = site
    config = _config(tmp_path, server)
    old, new = server.url("shells", "/rss"), server.url("shells", "/feed.xml")
    # What a crawl of the feed at its old address records (the previous test crawls it).
    engine = make_engine(load_config(config).database_url)
    ensure_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        run_id = runs.start_run(session, "shells", datetime.now(UTC), None)
        runs.finish_run(
            session,
            run_id,
            finished_at=datetime.now(UTC),
            status="finished",
            finish_reason="finished",
            counts=runs.RunCounts(pages_fetched=1),
        )
        state = listings.ListingState(new, '"e"', None, [])
        listings.save_listing_states(
            session, "shells", {url_key(old): state, url_key(new): state}, datetime.now(UTC)
        )
    engine.dispose()
    problems: list[dict[str, str]] = _health(config, tmp_path)["problems"]  # type: ignore[assignment]
    (moved,) = problems
    assert moved == {
        "kind": "moved",
        "reason": f"{old} redirects to {new}",
        "advice": "the daemon writes the new address into the config when the move is "
        "permanent (301/308); otherwise nothing needs doing",
        "old": old,
        "new": new,
    }
    crawl = load_config(config).crawl
    before = config.read_text(encoding="utf-8")
    written, message = settle_move(config, "shells", old, new, crawl)
    assert written
    assert message == f"source shells: {old} moved permanently to {new}: {config} now says {new}"
    assert config.read_text(encoding="utf-8") == before.replace(old, new)  # comments kept
    # A temporary redirect is left as it is.
    temporary = server.url("shells", "/tmp-rss")
    written, message = settle_move(config, "shells", temporary, new, crawl)
    assert not written and message.endswith("not permanently: left as it is")


def test_the_daemon_writes_a_moved_feed_into_the_config_and_says_so_once(
    site: tuple[SiteServer, Path], tmp_path: Path
) -> None:
    import signal
    import time

    server, _ = site
    config = _config(tmp_path, server)
    config.write_text(
        config.read_text(encoding="utf-8").replace('feeds = ["', 'every = "2s"\nfeeds = ["'),
        encoding="utf-8",
    )
    old, new = server.url("shells", "/rss"), server.url("shells", "/feed.xml")
    daemon = start_daemon(config, tmp_path)
    try:
        deadline = time.monotonic() + 40
        while new not in config.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.2)

        # Then the feed is asked for at its new address, not through the redirect: two asks
        # of /feed.xml in a row (a redirected one follows an ask of /rss).
        def asked_directly() -> bool:
            feeds = [r.path for r in server.requested("shells") if r.path in ("/rss", "/feed.xml")]
            return any(a == b == "/feed.xml" for a, b in pairwise(feeds))

        while not asked_directly():
            assert time.monotonic() < deadline + 20, "no crawl at the new address"
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    text = config.read_text(encoding="utf-8")
    assert f'feeds = ["{new}"]' in text and "# the feed moved" in text  # its comments kept
    assert err.count(f"{old} moved permanently to {new}: {config} now says {new}") == 1, err
    # The daemon re-read the file it wrote: it asked the new address directly (above).
