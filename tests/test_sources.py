"""`presswatch sources add | import | export | list` on loopback sites the tests build."""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import presswatch
from tests.sourcesites import Sites, paris_offset

CONFIG = """\
# My monitoring config: the comments and the order of what I wrote must stay.
[storage]
url = "sqlite:///sources.db"   # next to this file

[crawl]
user_agent = "presswatch-test/0.1 (+https://example.org/contact)"
timeout = "5s"

[[sources]]
name = "existing"              # written by hand
feeds = ["https://example.org/rss"]

[[watchlists]]                 # between two sources, on purpose
name = "talks"
query = "ceasefire"

[[sources]]
name = "existing-2"
sitemaps = ["https://example.net/sitemap.xml"]
every = "30m"
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    served = Sites(tmp_path_factory.mktemp("sourcesites"))
    yield served
    served.stop()


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "presswatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _sources(path: Path) -> list[dict[str, object]]:
    return list(tomllib.loads(path.read_text(encoding="utf-8")).get("sources", []))


def test_sources_add_finds_what_to_crawl_on_every_kind_of_site_in_one_run(
    sites: Sites, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    kinds = ("wp", "news", "plain", "pages", "forbidden", "thief")
    started = time.monotonic()
    result = presswatch(
        "--config", str(config), "sources", "add", *(sites.url(k) for k in kinds), cwd=tmp_path
    )
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    # Two sites had nothing usable: said so, with exit status 1.
    assert result.returncode == 1, result.stderr
    text = config.read_text(encoding="utf-8")
    # The config round-trips: every byte written by hand is still there, first.
    assert text.startswith(CONFIG)
    added = {s["name"]: s for s in _sources(config)[2:]}
    wp, news, plain, pages = (sites.url(k).split("//")[1].split(":")[0] for k in kinds[:4])
    assert added == {
        wp: {
            "name": wp,
            "feeds": [sites.url("wp", "/feed/")],
            "language": "en",
            "timezone": "UTC",
        },
        news: {
            "name": news,
            "sitemaps": [sites.url("news", "/sitemap_index.xml")],
            "language": "id",
            "timezone": "Asia/Jakarta",
        },
        plain: {
            "name": plain,
            "feeds": [sites.url("plain", "/feed/")],
            "language": "fr",
            "timezone": "Europe/Paris" if paris_offset(_now()).total_seconds() else "UTC",
        },
        pages: {
            "name": pages,
            "pages": [sites.url("pages", "/")],
            "article_pattern": r"/berita/\d{4}/\d+/[^/?#]+",
            "language": "ms",
        },
    }
    out = result.stdout
    # What was found and why, and the reasons for what was refused.
    assert 'declared in the home page\'s <link rel="alternate">' in out
    assert "Comments" not in out  # the comments feed is not a source of articles
    assert "declared in robots.txt" in out and "a Google News sitemap" in out
    assert f"{sites.url('forbidden')}: nothing usable: " in out and "403 Forbidden" in out
    assert f"refused: {sites.url('thief', '/feed.xml')}: lists articles on other.example" in out
    assert f"{sites.url('thief')}: nothing usable: no feed or sitemap found" in out
    assert "4 sources added to" in out and "2 sites with nothing usable" in out
    # The configured user agent asked, a few requests per site, robots.txt read first.
    asked = sites.files.requested()
    assert {r.headers["user-agent"] for r in asked} == {
        "presswatch-test/0.1 (+https://example.org/contact)"
    }
    for host in ("wp", "news", "plain", "pages", "thief"):
        mine = [r for r in asked if r.host == host]
        assert mine[0].path == "/robots.txt" and len(mine) <= 16, (host, len(mine))
    # The config written is one the crawl accepts.
    checked = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def _now() -> datetime:
    return datetime.now(UTC)


def test_dry_run_prints_the_blocks_and_json_the_findings_writing_nothing(
    sites: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli.main import main

    config = _config(tmp_path)
    status = main(
        [
            "--config",
            str(config),
            "sources",
            "add",
            sites.url("wp"),
            "--dry-run",
            "--name",
            "wpnews",
            "--timezone",
            "Asia/Jakarta",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert config.read_text(encoding="utf-8") == CONFIG
    assert '[[sources]]\nname = "wpnews"\nfeeds = ["' + sites.url("wp", "/feed/") + '"]' in out
    assert 'timezone = "Asia/Jakarta"' in out  # the option wins over what the site states
    assert "--dry-run: nothing written" in out
    status = main(
        ["--config", str(config), "sources", "add", sites.url("thief"), "--json", "--dry-run"]
    )
    found = json.loads(capsys.readouterr().out)
    assert status == 1 and found["added"] == []
    (site,) = found["sites"]
    assert site["refused"] == [
        {
            "url": sites.url("thief", "/feed.xml"),
            "reason": "lists articles on other.example, not on this site (127.0.3.6)",
        }
    ]
    assert "/feed/ (404 Not Found)" in site["tried"]


def test_a_site_already_configured_is_reported_and_not_added_again(
    sites: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli.main import main

    config = _config(
        tmp_path,
        CONFIG + f'\n[[sources]]\nname = "mine"\nfeeds = ["{sites.url("wp", "/feed/")}"]\n',
    )
    before = config.read_text(encoding="utf-8")
    assert main(["--config", str(config), "sources", "add", sites.url("wp")]) == 0
    out = capsys.readouterr().out
    assert "already configured as source 'mine': not added" in out
    assert config.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ftp://example.org/"], "'ftp://example.org/' is not a site address"),
        (["a.example", "b.example", "--name", "x"], "--name names one source but 2 site addresses"),
        (["a.example", "--name", "bad name"], "--name: 'bad name' is not a source name"),
        (["a.example", "--language", "English"], "--language: 'English' is not a language code"),
        (
            ["a.example", "--timezone", "Mars/Olympus"],
            "--timezone: 'Mars/Olympus' is not a time zone",
        ),
        (["a.example", "--name", "existing"], "--name 'existing' is already a source"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence_and_write_nothing(
    tmp_path: Path,
    arguments: list[str],
    message: str,
    sites: Sites,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from crawler.cli.main import main

    config = _config(tmp_path)
    if arguments[-1] == "existing":
        arguments = [sites.url("wp"), *arguments[1:]]
    sites.files.reset_log()
    assert main(["--config", str(config), "sources", "add", *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("presswatch: error: ") and message in error
    assert len(error.strip().splitlines()) == 1
    assert config.read_text(encoding="utf-8") == CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presswatch.toml"]
    assert sites.files.requested() == []  # refused before asking any site


READER_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Feeds from my reader</title></head>
  <body>
    <outline text="Caucasus" title="Caucasus">
      <outline text="Armenia">
        <outline type="rss" text="Site A - World" title="Site A - World" xmlUrl="https://www.site-a.example/world/rss.xml" htmlUrl="https://www.site-a.example/world/"/>
      </outline>
      <outline type="rss" text="Site A - Politics" xmlUrl="https://www.site-a.example/politics/rss.xml" htmlUrl="https://www.site-a.example/"/>
      <outline type="rss" text="Site B" xmlUrl="https://feeds.feedhost.example/site-b" htmlUrl="https://news.site-b.example/"/>
    </outline>
    <outline type="rss" text="Already here" xmlUrl="https://example.org/rss" htmlUrl="https://example.org/"/>
  </body>
</opml>
"""


def test_opml_from_a_feed_reader_one_source_per_site_duplicates_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli.main import main

    config = _config(tmp_path)
    opml = tmp_path / "reader.opml"
    opml.write_text(READER_OPML, encoding="utf-8")
    assert main(["--config", str(config), "sources", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert "https://example.org/: already configured as source 'existing': not added" in out
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG)
    assert "(category: Caucasus/Armenia, Caucasus)" in text  # the reader's folders, kept
    assert _sources(config)[2:] == [
        {
            "name": "site-a.example",
            "feeds": [
                "https://www.site-a.example/world/rss.xml",
                "https://www.site-a.example/politics/rss.xml",
            ],
        },
        {
            "name": "news.site-b.example",
            "feeds": ["https://feeds.feedhost.example/site-b"],
            # The feed is hosted elsewhere: the crawl is let onto the site.
            "allowed_domains": ["news.site-b.example"],
        },
    ]


def test_an_opml_export_imports_back_to_the_same_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli.main import main

    many = (
        CONFIG
        + """
[[sources]]
name = "warta"
feeds = ["https://warta.example/rss", "https://warta.example/feed/world.atom"]
sitemaps = ["https://warta.example/sitemap.xml"]
pages = ["https://warta.example/", "https://warta.example/en/"]
article_pattern = "/read/\\\\d+/"
language = "id"
timezone = "Asia/Jakarta"
every = "15m"
max_every = "2h"

[[sources]]
name = "sections"
pages = ["https://sections.example/news/"]
allowed_domains = ["sections.example"]
"""
    )
    config = _config(tmp_path, many)
    exported = tmp_path / "sources.opml"
    assert main(["--config", str(config), "sources", "export", "-o", str(exported)]) == 0
    data = exported.read_bytes()
    assert data.startswith(b"<?xml") and b"<opml " in data and b'version="2.0"' in data
    assert b'xmlUrl="https://warta.example/feed/world.atom"' in data
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    empty = _config(fresh, '[storage]\nurl = "sqlite:///x.db"\n')
    assert main(["--config", str(empty), "sources", "import", str(exported)]) == 0
    assert _sources(empty) == _sources(config)
    # Imported again: every source is a duplicate, nothing is added.
    before = empty.read_text(encoding="utf-8")
    assert main(["--config", str(empty), "sources", "import", str(exported)]) == 0
    assert empty.read_text(encoding="utf-8") == before
    assert "0 sources added" in capsys.readouterr().out


def test_a_list_of_site_addresses_goes_through_discovery(
    sites: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli.main import main

    config = _config(tmp_path)
    listing = tmp_path / "sites.txt"
    listing.write_text(
        f"# my sites\n{sites.url('plain')}\n\n{sites.url('pages')}\n", encoding="utf-8"
    )
    assert main(["--config", str(config), "sources", "import", str(listing)]) == 0
    added = _sources(config)[2:]
    assert [s.get("feeds") or s.get("pages") for s in added] == [
        [sites.url("plain", "/feed/")],
        [sites.url("pages", "/")],
    ]
    assert "added by `presswatch sources import`" in config.read_text(encoding="utf-8")
    listing.write_text("https://ok.example/\nnot a url\n", encoding="utf-8")
    status = main(["--config", str(config), "sources", "import", str(listing)])
    assert status == 2
    assert "line 2: 'not a url' is not a site address" in capsys.readouterr().err


def test_a_config_saved_meanwhile_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.config import ConfigError, load_config
    from crawler.sources import configfile

    config = _config(tmp_path)
    theirs = CONFIG + "# saved by someone else while the blocks were being checked\n"

    def validate_while_someone_saves(path: str) -> object:
        config.write_text(theirs, encoding="utf-8")
        return load_config(path)

    monkeypatch.setattr(configfile, "load_config", validate_while_someone_saves)
    with pytest.raises(ConfigError, match="changed while presswatch was changing it"):
        configfile.append_sources(config, [{"name": "x", "feeds": ["https://x.example/rss"]}], "c")
    assert config.read_text(encoding="utf-8") == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["presswatch.toml"]  # no temporary left
