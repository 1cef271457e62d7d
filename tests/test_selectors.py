"""A source's own CSS selectors for the sites where the general rules fail, and `presswatch
check --source NAME --url URL`, which shows what a page gives, field by field."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests import manysites
from tests.conftest import presswatch

# A page the general rules read wrong: the <h1> and <title> are the site's, the article's
# headline is in a <div>, the date only in a <span>, and the related-stories box outweighs
# nothing (trafilatura keeps it with the article).
PARA = (
    "The ceasefire talks resumed in the border town on Monday, officials said, as the "
    "delegations arrived with new proposals for the exchange of prisoners and aid."
)
ODD_PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Daily Border Courier</title></head><body>
<h1>Daily Border Courier</h1>
<div class="story"><div class="hed">Talks resume in the border town</div>
<span class="when">2026-11-02 09:30</span>
<div class="copy"><p>{PARA}</p><p>{PARA} Second paragraph.</p>
<h3>What comes next</h3><p>{PARA} Third paragraph.</p></div>
<div class="related"><p>Related: {"Other story about the weather in the capital. " * 12}</p></div>
</div></body></html>"""


def check(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`presswatch check ARGS` with ``config``, run where the config is."""
    return presswatch("--config", str(config), "check", *args, cwd=config.parent)


@pytest.fixture
def odd_site(tmp_path: Path):
    sites = manysites.specs(1, 2)[:1]
    sites = [manysites.SiteSpec(sites[0].host, sites[0].address, {"/rss.xml": 2})]
    root = tmp_path / "sites"
    manysites.build(root, sites)
    (root / sites[0].host / "news" / "1.html").write_text(ODD_PAGE, encoding="utf-8")
    server = manysites.serve(root, sites)
    database = tmp_path / "crawl.db"
    config = tmp_path / "presswatch.toml"
    config.write_text(
        manysites.config(server, sites, f"sqlite:///{database}").replace(
            'every = "15m"\n',
            'every = "15m"\ntimezone = "Europe/Kyiv"\n'
            'title_selector = "div.hed"\nbody_selector = "div.copy"\n'
            'date_selector = "span.when"\n',
        ),
        encoding="utf-8",
    )
    yield server, sites[0], config, database
    server.stop()


def test_check_shows_each_field_and_what_each_selector_matched(odd_site) -> None:
    server, site, config, _database = odd_site
    url = server.url(site.host, "/news/1.html")
    done = check(config, "--source", site.host, "--url", url, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    article = shown["article"]
    assert article["title"] == "Talks resume in the border town"
    assert article["published_at"] == "2026-11-02T07:30:00Z"  # 09:30 in Kyiv
    assert article["text"].split("\n") == [
        PARA,
        f"{PARA} Second paragraph.",
        "What comes next",
        f"{PARA} Third paragraph.",
    ]
    assert shown["selectors"]["body"] == {"selector": "div.copy", "matched": 1}
    assert shown["watchlists"] == ["ceasefire"]
    human = check(config, "--source", site.host, "--url", url)
    assert human.returncode == 0, human.stderr
    assert "title       Talks resume in the border town" in human.stdout
    assert "body_selector 'div.copy': 1 element(s)" in human.stdout


def test_without_selectors_the_same_page_reads_wrong_and_check_says_it(
    odd_site, tmp_path: Path
) -> None:
    server, site, config, _database = odd_site
    plain = tmp_path / "plain.toml"
    text = config.read_text(encoding="utf-8")
    for key in ("title_selector", "body_selector", "date_selector"):
        text = "\n".join(line for line in text.split("\n") if not line.startswith(key))
    plain.write_text(text, encoding="utf-8")
    url = server.url(site.host, "/news/1.html")
    done = presswatch(
        "--config",
        str(plain),
        "check",
        "--source",
        site.host,
        "--url",
        url,
        "--json",
        cwd=config.parent,
    )
    assert done.returncode == 0, done.stderr
    article = json.loads(done.stdout)["article"]
    assert article["title"] != "Talks resume in the border town"  # what the selectors fix


def test_a_crawl_stores_what_the_source_s_selectors_select(odd_site) -> None:
    _server, _site, config, database = odd_site
    done = presswatch("--config", str(config), "crawl", "--json", "-q", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        title, text, published = db.execute(
            "SELECT title, text, published_at FROM articles WHERE url LIKE '%/news/1.html'"
        ).fetchone()
    assert title == "Talks resume in the border town"
    assert "Other story about the weather" not in text and "What comes next" in text
    assert published.startswith("2026-11-02 07:30")


def test_check_of_a_saved_page_and_of_a_page_without_article(odd_site, tmp_path: Path) -> None:
    _server, site, config, _database = odd_site
    saved = tmp_path / "saved.html"
    saved.write_text(ODD_PAGE, encoding="utf-8")
    done = check(config, "--source", site.host, "--file", str(saved))
    assert done.returncode == 0, done.stderr
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><nav>Home</nav></body></html>", encoding="utf-8")
    done = check(config, "--source", site.host, "--file", str(empty))
    assert done.returncode == 1
    assert "no article text" in done.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--url", "http://127.0.0.1:9/x"], "--source"),
        (["--source", "nosuch", "--url", "http://127.0.0.1:9/x"], "nosuch"),
        (["--source", "site00"], "--url or --file"),
    ],
)
def test_bad_check_arguments_exit_2(odd_site, args: list[str], said: str) -> None:
    _server, _site, config, _database = odd_site
    done = check(config, *args)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr


def test_a_bad_selector_in_the_config_is_refused_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text(
        '[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\nbody_selector = "div..x"\n',
        encoding="utf-8",
    )
    done = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert done.returncode == 2
    assert "body_selector" in done.stderr and "div..x" in done.stderr


def test_an_unreachable_page_is_one_sentence_and_exit_1(odd_site) -> None:
    _server, site, config, _database = odd_site
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port_closed = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
    done = check(config, "--source", site.host, "--url", port_closed)
    assert done.returncode == 1
    assert "no answer" in done.stderr
