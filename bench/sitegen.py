"""Generate a large local news site for benchmarks: ``python bench/sitegen.py DIR BASE_URL``.

Articles use the demo site's page layout (menus, related lists, promo, footer) padded with the
inline scripts real portals carry, ~60-90 KB a page; text is generated sentence by sentence
from word lists in three languages, so no two articles are near-copies. Dates fall in the last
three days, so `max_article_age = "7d"` admits every article.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.demo.articles import Story
from crawler.demo.build_site import news_article

WORDS = {
    "en": "the of and to in a is that for on with as was by at from army troops shelling "
    "ceasefire talks president minister border village city region killed wounded missile "
    "drone attack strike forces government officials said reported week people civilians "
    "humanitarian aid refugees negotiations peace agreement parliament election market "
    "prices economy oil harvest school hospital water power road bridge river winter "
    "summer council mayor police court judge law budget tax bank trade exports".split(),
    "id": "yang dan di ke dari pada untuk dengan dalam ini itu akan telah pasukan serangan "
    "perang rudal tewas warga desa kota wilayah perbatasan presiden menteri pemerintah "
    "mengatakan kementerian pertahanan bantuan pengungsi perundingan damai pasar harga "
    "ekonomi sekolah rumah sakit air listrik jalan jembatan sungai musim hujan dewan "
    "polisi pengadilan hakim anggaran pajak bank ekspor petani nelayan".split(),
    "ru": "и в не на с что по как из за от для президент войска обстрел перемирие "
    "переговоры граница город регион погибли ранены ракета удар армия правительство "
    "заявил сообщили мирные жители помощь беженцы соглашение парламент выборы рынок "
    "цены экономика нефть урожай школа больница вода дорога мост река зима".split(),
}
PLACES = [
    "Karabakh",
    "Stepanakert",
    "Donbas",
    "Kharkiv",
    "Gaza",
    "Darfur",
    "Tigray",
    "Idlib",
    "Sanaa",
    "Goma",
    "Rakhine",
    "Jakarta",
    "Surabaya",
    "Medan",
    "Bandung",
    "Makassar",
]
SCRIPT = "window.__ads=" + ",".join(f'{{"slot":"ad-{i}","size":[300,250]}}' for i in range(1600))


def _sentence(rng: random.Random, words: list[str]) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(9, 22))]
    if rng.random() < 0.3:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(PLACES))
    return " ".join(chosen).capitalize() + "."


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as a feed or sitemap lists it."""

    url: str
    published: datetime
    title: str


def write_article(
    out: Path,
    base: str,
    rng: random.Random,
    index: int,
    now: datetime,
    *,
    within: timedelta = timedelta(days=3),
) -> Entry:
    """Write one generated article page under ``out`` (the folder served at ``base``), published
    within ``within`` before ``now``; ``index`` makes its path unique within the site."""
    language = rng.choice(("en", "en", "id", "ru"))
    words = WORDS[language]
    published = now - timedelta(minutes=rng.randint(5, int(within.total_seconds() // 60)))
    title = " ".join(rng.choice(words) for _ in range(rng.randint(6, 11))).capitalize()
    paragraphs = tuple(
        " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(6, 14))
    )
    path = f"/news/{published:%Y/%m/%d}/{'-'.join(title.lower().split()[:6])}-{index}.html"
    story = Story(
        host="news",
        path=path,
        title=title,
        language=language,
        published=published.isoformat(),
        published_utc="",
        paragraphs=paragraphs,
        author=f"Reporter {index % 40}",
        section="World",
    )
    page = news_article(story).replace("{{news}}", base)
    page = page.replace("</head>", f"<script>{SCRIPT}</script></head>", 1)
    file = out / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(page, encoding="utf-8")
    return Entry(base + path, published, title)


def write_feed(out: Path, base: str, entries: Sequence[Entry], title: str = "Bench") -> None:
    """Write ``out/rss.xml``, an RSS 2.0 feed of ``entries`` in the order given."""
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.url)}</link>"
        f"<guid>{escape(e.url)}</guid>"
        f"<pubDate>{e.published:%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
        for e in entries
    )
    (out / "rss.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base)}/</link>"
        f"<description>{escape(title)}: latest news</description>{items}</channel></rss>",
        encoding="utf-8",
    )


def write_sitemaps(out: Path, base: str, entries: Sequence[Entry]) -> None:
    """Write ``out/sitemap.xml``, an index of 1,000-URL sitemaps listing ``entries``."""
    index = []
    for n, start in enumerate(range(0, len(entries), 1000)):
        chunk = entries[start : start + 1000]
        urls = "".join(
            f"<url><loc>{e.url}</loc><lastmod>{e.published.isoformat()}</lastmod></url>"
            for e in chunk
        )
        (out / f"sitemap-{n}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )
        index.append(
            f"<sitemap><loc>{base}/sitemap-{n}.xml</loc>"
            f"<lastmod>{chunk[0].published.isoformat()}</lastmod></sitemap>"
        )
    (out / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
        f'"http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(index)}</sitemapindex>'
    )


def write_robots(out: Path) -> None:
    (out / "robots.txt").write_text("User-agent: *\nAllow: /\n")


def generate(out: Path, base: str, count: int, seed: int = 20201102) -> list[str]:
    """Write ``count`` articles, feeds and sitemaps under ``out``; return the article URLs."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    entries = [write_article(out, base, rng, i, now) for i in range(count)]
    entries.sort(key=lambda e: e.published, reverse=True)
    write_feed(out, base, entries[:100])
    write_sitemaps(out, base, entries)
    write_robots(out)
    return [e.url for e in entries]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("base", help="the site's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    urls = generate(args.out, args.base.rstrip("/"), args.articles)
    print(f"{len(urls)} articles in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
