"""End to end: the real `presswatch crawl` and `scrapy crawl` against the local news site,
into a real SQLite file. What the pages hold comes from crawler/demo/articles.py, the data the
site is built from."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.demo.articles import (
    AMP_PATH,
    BANK,
    CEASEFIRE,
    MISSILES,
    OLD_SITEMAP_URLS,
    PAPUA,
    SEED_STORY,
    STORIES,
    WIRE_COPY,
    WIRE_NEAR,
    Story,
)
from crawler.watch.snippets import snippets_of
from storage.models import Article, ArticleRevision, ArticleUrl, CrawlRun, WatchMatch
from storage.urlkeys import url_key
from tests.conftest import (
    Crawled,
    Site,
    _presswatch_command,
    has_tables,
    presswatch,
    scrapy_crawl,
)

SEED_PATH_PART = "azerbaijan-bersumpah"


def _articles(site: Site) -> list[Article]:
    with Session(site.engine()) as session:
        return list(session.scalars(select(Article)))


def _article_at(site: Site, url: str) -> Article | None:
    with Session(site.engine()) as session:
        row = session.scalar(select(ArticleUrl).where(ArticleUrl.url_key == url_key(url)))
        return session.get(Article, row.article_id) if row else None


def _urls(site: Site, article_id: int) -> set[str]:
    with Session(site.engine()) as session:
        return set(
            session.scalars(select(ArticleUrl.url).where(ArticleUrl.article_id == article_id))
        )


def _runs(site: Site) -> list[CrawlRun]:
    with Session(site.engine()) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def _stored(site: Site, story: Story) -> Article:
    article = _article_at(site, site.url(story.host, story.path))
    assert article is not None, f"not stored: {story.path}"
    return article


def test_crawl_finishes_with_a_summary_per_source(crawled: Crawled) -> None:
    assert crawled.result.returncode == 0, crawled.result.stderr
    summaries = {s["source"]: s for s in json.loads(crawled.result.stdout)}
    assert set(summaries) == {"warta", "wire"}
    for summary in summaries.values():
        assert summary["status"] == "finished"
        assert summary["pages_fetched"] > 0 and summary["new"] > 0
    assert "warta: started (3 feeds, 2 sitemaps, 6 pages)" in crawled.result.stderr  # progress


def test_every_article_is_stored_once_with_its_metadata(crawled: Crawled) -> None:
    site = crawled.site
    ids = set()
    for story in STORIES:
        article = _stored(site, story)
        ids.add(article.id)
        assert article.title == story.title, story.path
        assert article.language == story.language, story.path
        # The wire's copy of BANK is BANK's article, dated as the earlier original.
        dated = BANK if story is WIRE_COPY else story
        published = datetime.fromisoformat(dated.published_utc.replace("Z", "+00:00"))
        assert article.published_at == published, story.path
        # Exactly the article's paragraphs: no menu, date line, caption, related stories,
        # promo box or footer.
        assert article.text.split("\n") == list(story.paragraphs), story.path
    # The syndicated copy is the same article as its original; everything else is distinct.
    assert len(ids) == len(STORIES) - 1
    assert len(_articles(site)) == len(ids)


def test_seed_article_is_exactly_the_article(crawled: Crawled) -> None:
    article = _stored(crawled.site, SEED_STORY)
    assert article.published_at == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    seed = (Path(__file__).resolve().parents[1] / "crawler/demo/seed.txt").read_text("utf-8")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 14
    for line in seed.splitlines():
        line = line.strip()
        if line.startswith(
            (
                "BAKU",
                "Aliyev",
                "Konflik",
                "Perdana",
                "Menanggapi",
                "“Jika",
                "Komentarnya",
                "Para pejabat",
                "Sebaliknya",
                "Nagorno-Karabakh terletak",
                "Menurut pejabat",
                "Presiden Rusia",
            )
        ):
            # Every paragraph of the article, without its "(Baca: …)" links.
            assert line.split(" (Baca")[0] in paragraphs
        elif line and line != SEED_STORY.title:
            # None of the other lines: date, caption, "A A A", lists, promo, footer.
            assert line not in article.text, line
    assert "Baca" not in article.text and "(min)" not in article.text


def test_copies_are_one_article_and_near_copies_one_story(crawled: Crawled) -> None:
    site = crawled.site
    amp = _article_at(site, site.url("news", AMP_PATH))
    assert amp is not None and amp.id == _stored(site, CEASEFIRE).id
    tracked = site.url("news", CEASEFIRE.path + "?utm_source=rss&utm_medium=feed")
    assert _article_at(site, tracked) is not None
    original, copy = _stored(site, BANK), _stored(site, WIRE_COPY)
    assert original.id == copy.id
    assert {site.url("wire", WIRE_COPY.path), site.url("news", BANK.path)} <= _urls(site, copy.id)
    near, source = _stored(site, WIRE_NEAR), _stored(site, MISSILES)
    assert near.id != source.id and near.story_id == source.story_id
    others = {a.story_id for a in _articles(site) if a.id not in (near.id, source.id)}
    assert source.story_id not in others
    with Session(site.engine()) as session:
        keys = list(session.scalars(select(ArticleUrl.url_key)))
    assert all("utm_" not in k and "fbclid" not in k for k in keys)


def test_bad_inputs_are_counted_and_the_crawl_goes_on(crawled: Crawled) -> None:
    runs = {r.source: r for r in _runs(crawled.site)}
    errors = runs["warta"].errors
    for kind in (
        "http_404",
        "http_500",
        "redirect_loop",
        "not_html",
        "too_large",
        "timeout",
        "robots",
        "bad_feed",
        "bad_sitemap",
    ):
        assert errors.get(kind, 0) >= 1, (kind, errors)
    assert runs["warta"].finish_reason == "finished"
    # The video page has no article text: counted, not stored.
    assert runs["warta"].empty == 1
    assert (
        _article_at(
            crawled.site,
            crawled.site.url("news", "/read/1940/41/video-detik-detik-serangan-1604300170"),
        )
        is None
    )


def test_robots_and_age_limits_are_obeyed(crawled: Crawled) -> None:
    server = crawled.site.server
    assert not [r for r in server.requested("news") if r.path.startswith("/private/")]
    assert not server.requested("news", "/sitemap-2015-01.xml")
    for path in OLD_SITEMAP_URLS:
        assert not server.requested("news", path)
    agents = {r.headers.get("user-agent") for r in server.requested()}
    assert agents == {"presswatch-demo/0.1 (+https://example.org/presswatch)"}


def test_each_article_page_is_requested_once(crawled: Crawled) -> None:
    # Feeds, sitemaps and section pages list the same articles; Scrapy reads their callbacks'
    # output interleaved, and none of that may fetch a page twice. (PAPUA is also the end of
    # a redirect chain of the test site, which fetches it once more, as a browser would.)
    server = crawled.site.server
    article_paths = {s.path for s in STORIES if s is not PAPUA}
    counts = Counter(
        (r.host, r.path)
        for r in server.requested()
        if r.method == "GET" and r.path in article_paths
    )
    assert len(counts) >= 10
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]


def test_second_crawl_downloads_no_article_again(site: Site) -> None:
    first = presswatch("--config", str(site.config), "crawl", "--json", "-q", cwd=site.workdir)
    assert first.returncode == 0, first.stderr
    stored = len(_articles(site))
    site.server.reset_log()
    second = presswatch("--config", str(site.config), "crawl", "--json", "-q", cwd=site.workdir)
    assert second.returncode == 0, second.stderr
    article_paths = {s.path for s in STORIES} | {AMP_PATH}
    refetched = [r.path for r in site.server.requested() if r.path.split("?")[0] in article_paths]
    assert refetched == []
    assert len(_articles(site)) == stored
    for summary in json.loads(second.stdout):
        assert summary["new"] == 0 and summary["updated"] == 0


def change_papua(site: Site) -> str:
    """Add a sentence to PAPUA's page and date its sitemap entry now; returns the sentence."""
    file = site.root / "news" / PAPUA.path.lstrip("/")
    sentence = PAPUA.paragraphs[-1]
    update = " Pembaruan: Gubernur Papua meresmikan ruas jalan tersebut pada Selasa malam."
    file.write_text(
        file.read_text(encoding="utf-8").replace(sentence, sentence + update), encoding="utf-8"
    )
    sitemap = site.root / "news" / "sitemap-2020-11.xml.gz.src"
    text = sitemap.read_text(encoding="utf-8")
    entry = re.search(rf"<loc>[^<]*{re.escape(PAPUA.path)}</loc><lastmod>[^<]+</lastmod>", text)
    assert entry is not None
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    changed = re.sub(r"<lastmod>[^<]+</lastmod>", f"<lastmod>{now}</lastmod>", entry.group(0))
    sitemap.write_text(text.replace(entry.group(0), changed), encoding="utf-8")
    return update


def test_changed_article_is_updated_and_its_revision_kept(site: Site) -> None:
    assert presswatch("--config", str(site.config), "crawl", "-q", cwd=site.workdir).returncode == 0
    update = change_papua(site)
    site.server.reset_log()

    result = presswatch(
        "--config", str(site.config), "crawl", "--json", "-q", "warta", cwd=site.workdir
    )
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["updated"] == 1 and summary["new"] == 0, summary
    fetched = {r.path for r in site.server.requested("news")}
    assert PAPUA.path in fetched and SEED_STORY.path not in fetched
    article = _stored(site, PAPUA)
    assert article.revision == 2 and article.text.endswith(update.strip())
    with Session(site.engine()) as session:
        (old,) = session.scalars(
            select(ArticleRevision).where(ArticleRevision.article_id == article.id)
        )
    assert old.revision == 1 and old.text.split("\n") == list(PAPUA.paragraphs)


def test_two_crawls_at_once_store_no_duplicate(site: Site) -> None:
    commands = [
        subprocess.Popen(
            [*_scrapy(), "crawl", "news", "-a", "source=warta", "-a", f"config={site.config}"],
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in commands:
        process.communicate(timeout=180)
        assert process.returncode == 0
    with Session(site.engine()) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        hashes = session.scalar(select(func.count(func.distinct(Article.content_hash))))
        urls = session.scalar(select(func.count()).select_from(ArticleUrl))
        keys = session.scalar(select(func.count(func.distinct(ArticleUrl.url_key))))
    assert articles == hashes and urls == keys and articles and articles > 5
    assert len(_runs(site)) == 2


def _scrapy() -> list[str]:
    import sys

    scrapy = Path(sys.executable).parent / "scrapy"
    return [str(scrapy)] if scrapy.exists() else [sys.executable, "-m", "scrapy"]


def test_scrapy_crawl_runs_the_same_path(site: Site) -> None:
    result = scrapy_crawl(site.config, "wire")
    assert result.returncode == 0, result.stderr
    runs = _runs(site)
    assert [r.source for r in runs] == ["wire"] and runs[0].status == "finished"
    assert runs[0].new >= 3


def test_scrapy_crawl_with_a_bad_argument_closes_with_a_reason(site: Site) -> None:
    result = scrapy_crawl(site.config, "nope")
    assert "no source named 'nope'" in result.stderr
    # Scrapy exits 0 whatever the reason, and no run row is opened: its closing stats are
    # where it names the reason.
    assert "'finish_reason': 'config_error'" in result.stderr
    assert not has_tables(site.database_url)


def test_export_jsonl_csv_and_filters(crawled: Crawled) -> None:
    site = crawled.site
    out = presswatch("--config", str(site.config), "export", cwd=site.workdir)
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == len(_articles(site))
    for field in (
        "id",
        "url",
        "canonical_url",
        "urls",
        "source",
        "title",
        "authors",
        "published_at",
        "language",
        "text",
        "fetched_at",
        "story_id",
        "matches",
    ):
        assert all(field in r for r in records), field
    assert all(r["published_at"] is None or r["published_at"].endswith("Z") for r in records)
    wire = presswatch("--config", str(site.config), "export", "--source", "wire", cwd=site.workdir)
    assert {json.loads(line)["source"] for line in wire.stdout.splitlines()} == {"wire"}
    recent = presswatch(
        "--config", str(site.config), "export", "--since", "2020-11-02", cwd=site.workdir
    )
    dates = [json.loads(line)["published_at"] for line in recent.stdout.splitlines()]
    assert dates and all(d >= "2020-11-02" for d in dates) and len(dates) < len(records)
    target = site.workdir / "out.csv"
    csv_run = presswatch(
        "--config",
        str(site.config),
        "export",
        "--format",
        "csv",
        "-o",
        str(target),
        cwd=site.workdir,
    )
    assert csv_run.returncode == 0, csv_run.stderr
    assert target.read_text(encoding="utf-8").startswith("id,url,canonical_url,urls,")
    with target.open(encoding="utf-8", newline="") as written:
        assert len(list(csv.DictReader(written))) == len(records)
    assert f"exported {len(records)} articles" in csv_run.stderr  # what -o tells the user


def test_demo_runs_with_no_setup(tmp_path: Path) -> None:
    result = presswatch("demo", "--dir", str(tmp_path / "demo"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    articles = json.loads(result.stdout)
    assert any(SEED_PATH_PART in a["url"] for a in articles)
    assert {a["source"] for a in articles} == {"warta", "wire"}


def test_seed_article_is_flagged_from_its_body(crawled: Crawled) -> None:
    article = _stored(crawled.site, SEED_STORY)
    with Session(crawled.site.engine()) as session:
        (match,) = session.scalars(select(WatchMatch).where(WatchMatch.article_id == article.id))
    terms = {t["term"]: t for t in match.terms}
    assert match.watchlist == "karabakh" and match.status == "new"
    assert {"Nagorno-Karabakh", "rudal", "tewas"} <= set(terms)
    # "rudal" is in the body once; the "(Baca: … Rudal Armenia)" line is not article text.
    assert terms["rudal"]["count"] == 1 and terms["rudal"]["where"] == ["body"]
    assert terms["tewas"]["where"] == ["body"]
    # The match keeps where its hits are; the snippets are cut from the text when shown.
    assert match.hits is not None and match.hits["field"] == "body" and match.snippets == []
    snippets = snippets_of(match, article)
    texts = " ".join(str(s["text"]) for s in snippets)
    assert "serangan rudal pada Sabtu malam" in texts
    for snippet in snippets:
        for start, end in cast(list[tuple[int, int]], snippet["highlights"]):
            word = str(snippet["text"])[start:end].lower()
            # A whole word (or hyphenated phrase) of the query's terms or their inflections.
            assert word in {
                "nagorno-karabakh",
                "karabakh",
                "rudal",
                "tewas",
                "berperang",
                "perang",
                "serangan",
                "pertempuran",
            }, word


def test_flag_rescan_is_idempotent(crawled: Crawled) -> None:
    site = crawled.site
    first = presswatch("--config", str(site.config), "flag", "--rescan", "--json", cwd=site.workdir)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["new"] == 0 and counts["removed"] == 0 and counts["kept"] >= 1
    flagged = presswatch("--config", str(site.config), "export", "--flagged", cwd=site.workdir)
    records = [json.loads(line) for line in flagged.stdout.splitlines()]
    assert records and all(r["matches"][0]["watchlist"] == "karabakh" for r in records)
    assert len(records) == counts["kept"]
    # Each exported match carries its snippets, cut from the exported text at its hits.
    for r in records:
        (snippet, *_) = r["matches"][0]["snippets"]
        assert snippet["highlights"]
        for start, end in snippet["highlights"]:
            assert snippet["text"][start:end].strip("…") in r["text"] + (r["title"] or "")


def test_search_finds_articles_with_snippets(crawled: Crawled) -> None:
    site = crawled.site
    result = presswatch(
        "--config", str(site.config), "search", "Azerbaijan AND rudal", "--json", cwd=site.workdir
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert any(SEED_PATH_PART in r["url"] for r in found)
    dates = [r["published_at"] for r in found]
    assert dates == sorted(dates, reverse=True)


def test_match_command_on_text_url_and_stored_article(crawled: Crawled, tmp_path: Path) -> None:
    site = crawled.site
    query = '"Nagorno-Karabakh" AND (rudal OR tewas)'
    result = presswatch(
        "match", query, "--url", site.url("news", SEED_STORY.path), "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["matched"] is True
    assert {t["term"] for t in data["terms"]} == {"Nagorno-Karabakh", "rudal", "tewas"}
    assert all({"text", "highlights"} <= set(s) for s in data["snippets"])
    stored = _stored(site, SEED_STORY)
    by_id = presswatch(
        "--config", str(site.config), "match", query, "--article", str(stored.id), cwd=site.workdir
    )
    assert by_id.returncode == 0 and by_id.stdout.startswith("match: ")
    text = presswatch(
        "match", "perang", "--text", "Mereka berperang.", "--lang", "id", cwd=tmp_path
    )
    assert text.returncode == 0 and "perang ×1" in text.stdout
    miss = presswatch(
        "match", "perang", "--text", "Perangkat baru.", "--lang", "id", "--json", cwd=tmp_path
    )
    assert miss.returncode == 1 and json.loads(miss.stdout)["matched"] is False
    bad = presswatch("match", "(perang", "--text", "x", cwd=tmp_path)
    assert bad.returncode == 2 and "position 1" in bad.stderr and "never closed" in bad.stderr


# Errors counted for article pages that were downloaded (the rest fail before their callback).
_AFTER_FETCH = ("not_html", "extract", "extract_timeout", "worker_crash", "store")


def _accounted(summary: dict[str, Any]) -> int:
    outcomes = ("new", "updated", "duplicate", "unchanged", "empty")
    errors = summary["errors"]
    return sum(summary[k] for k in outcomes) + sum(errors.get(k, 0) for k in _AFTER_FETCH)


def test_every_downloaded_article_page_is_accounted_for(crawled: Crawled) -> None:
    for summary in json.loads(crawled.result.stdout):
        assert summary["articles_fetched"] > 0
        assert _accounted(summary) == summary["articles_fetched"], summary


def test_a_stopped_crawl_loses_no_page_in_flight(site: Site) -> None:
    # Ctrl-C: Scrapy stops downloading, and the pages already downloaded (some with the
    # extraction workers, which ignore the signal) are extracted and stored before it exits.
    process = subprocess.Popen(
        [*_presswatch_command(), "--config", str(site.config), "crawl", "--json", "-q"],
        cwd=site.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len([r for r in site.server.requested() if "/read/" in r.path]) >= 4:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=90)
    summaries = json.loads(out)
    assert any(s["status"] == "stopped" for s in summaries), (summaries, err[-2000:])
    for summary in summaries:
        assert _accounted(summary) == summary["articles_fetched"], summary
    with Session(site.engine()) as session:
        stored = session.scalar(select(func.count()).select_from(Article))
        runs = list(session.scalars(select(CrawlRun)))
    assert stored == sum(s["new"] for s in summaries)
    assert {r.status for r in runs} <= {"stopped", "finished"}
    # The crawl's process tree is gone: no worker outlived it.
    leftovers = subprocess.run(
        ["pgrep", "-f", f"--config {site.config}"], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == []


def test_second_crawl_asks_for_feeds_and_sitemaps_conditionally(site: Site) -> None:
    assert presswatch("--config", str(site.config), "crawl", "-q", cwd=site.workdir).returncode == 0
    site.server.reset_log()
    second = presswatch("--config", str(site.config), "crawl", "--json", "-q", cwd=site.workdir)
    assert second.returncode == 0, second.stderr
    listings = [
        r
        for r in site.server.requested()
        if r.path.endswith((".xml", ".rss", ".atom", ".xml.gz")) or "/feed/" in r.path
    ]
    conditional = [
        r for r in listings if "if-none-match" in r.headers or "if-modified-since" in r.headers
    ]
    not_modified = [r for r in listings if r.status == 304]
    assert conditional and not_modified
    # The news sitemap index answered 304, and its children were still asked (conditionally).
    index = [r for r in listings if r.path == "/sitemap.xml" and r.host == "news"]
    assert index and index[0].status == 304
    children = [r for r in listings if r.path.startswith("/sitemap-2020")]
    assert children and all("if-none-match" in r.headers for r in children)
    article_paths = {s.path for s in STORIES}
    assert not [r for r in site.server.requested() if r.path.split("?")[0] in article_paths]
    for summary in json.loads(second.stdout):
        assert summary["new"] == 0 and summary["updated"] == 0


def test_a_changed_sitemap_is_read_again_despite_validators(site: Site) -> None:
    # test_changed_article_is_updated_and_its_revision_kept covers the rest; here: a sitemap
    # whose file changed answers 200 to the conditional request and its entries are read.
    assert presswatch("--config", str(site.config), "crawl", "-q", cwd=site.workdir).returncode == 0
    sitemap = site.root / "news" / "sitemap-2020-11.xml.gz.src"
    sitemap.write_text(sitemap.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    site.server.reset_log()
    assert presswatch("--config", str(site.config), "crawl", "-q", cwd=site.workdir).returncode == 0
    (changed,) = [r for r in site.server.requested() if r.path == "/sitemap-2020-11.xml.gz"]
    assert "if-none-match" in changed.headers and changed.status == 200


def test_an_unchanged_source_is_checked_without_starting_a_crawl(site: Site) -> None:
    # The wire source without its section page: feeds and sitemaps only, all with validators.
    text = site.config.read_text(encoding="utf-8")
    section = f'pages = ["{site.url("wire", "/")}"]'
    assert section in text
    site.config.write_text(text.replace(section, ""), encoding="utf-8")

    def crawl(*extra: str) -> dict[str, Any]:
        done = presswatch(
            "--config", str(site.config), "crawl", "wire", "--json", "-q", *extra, cwd=site.workdir
        )
        assert done.returncode == 0, done.stderr
        (summary,) = json.loads(done.stdout)
        return dict(summary)

    first = crawl()
    assert first["finish_reason"] == "finished" and first["new"] > 0
    site.server.reset_log()
    second = crawl()
    assert second["status"] == "finished" and second["finish_reason"] == "not_modified"
    assert second["new"] == 0 and second["pages_fetched"] >= 2
    requested = site.server.requested()
    listings = [r for r in requested if r.path != "/robots.txt"]
    # robots.txt, then each feed and sitemap once, conditionally, all unchanged; nothing else.
    assert [r.path for r in requested if r.path == "/robots.txt"] == ["/robots.txt"]
    assert len(listings) == second["pages_fetched"]
    assert all(r.status == 304 and "if-none-match" in r.headers for r in listings)
    with Session(site.engine()) as session:
        runs = session.scalars(
            select(CrawlRun).where(CrawlRun.source == "wire").order_by(CrawlRun.id)
        ).all()
    assert [r.finish_reason for r in runs] == ["finished", "not_modified"]
    assert runs[-1].status == "finished" and runs[-1].pages_fetched == second["pages_fetched"]

    # --force: a crawl all the same, in the engine (its run row names the crawling process),
    # which finds the same: every listing answered 304.
    forced = crawl("--force")
    assert forced["status"] == "finished" and forced["finish_reason"] == "not_modified"
    with Session(site.engine()) as session:
        forced_run = session.get_one(CrawlRun, forced["run_id"])
    assert forced_run.pid is not None and runs[-1].pid is None

    # A changed sitemap means a crawl, which reads it.
    sitemap = site.root / "wire" / "sitemap.xml"
    sitemap.write_text(sitemap.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    site.server.reset_log()
    assert crawl()["finish_reason"] == "finished"
    reads = [r for r in site.server.requested() if r.path == "/sitemap.xml"]
    assert [r.status for r in reads] == [200, 200]  # asked by the check, then by the crawl
