"""Benchmark: watchlist flagging speed with 10, 100 and 1,000 watchlists over 10,000 articles.

    python bench/flagging.py [--articles 10000]

Each article goes through ``analyse``, as in the crawl's extraction workers: its matches as the
records stored, and its search words. Prints MB of text per second, milliseconds per article,
and that time as a share of the time trafilatura extraction takes per article (measured here on
generated news pages), which the target keeps under 5% with 1,000 watchlists; and what cutting
a stored match's snippets costs where they are shown (digests, export, feed), which the crawl
no longer does.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sitegen import generate
from crawler.extract.article import ExtractionOptions, extract_article
from crawler.extract.decoding import decode_html
from crawler.watch.flagging import analyse
from crawler.watch.matcher import Matcher, WatchlistQuery
from crawler.watch.snippets import stored_snippets

VOCABULARY = {
    "en": "the of and to in a is that for on with as was by at from army troops shelling "
    "ceasefire talks president minister border village city region killed wounded missile "
    "drone attack strike forces government officials said reported week people civilians "
    "humanitarian aid refugees negotiations peace agreement".split(),
    "id": "yang dan di ke dari pada untuk dengan dalam ini itu akan telah pasukan serangan "
    "perang rudal tewas warga desa kota wilayah perbatasan presiden menteri pemerintah "
    "mengatakan kementerian pertahanan bantuan pengungsi perundingan damai".split(),
    "ru": "и в не на с что по как из за от для президент войска обстрел перемирие переговоры "
    "граница город регион погибли ранены ракета удар армия правительство заявил сообщили "
    "мирные жители помощь беженцы соглашение".split(),
}
NAMES = [
    "Karabakh",
    "Artsakh",
    "Stepanakert",
    "Aliyev",
    "Pashinyan",
    "Donbas",
    "Kharkiv",
    "Gaza",
    "Rafah",
    "Darfur",
    "Khartoum",
    "Sahel",
    "Tigray",
    "Idlib",
    "Aleppo",
    "Sanaa",
    "Hodeidah",
    "Kivu",
    "Goma",
    "Mogadishu",
    "Cabo Delgado",
    "Rakhine",
    "Kachin",
]
SYLLABLES = (
    "ka ra ba kh ar ts an do nb as kh ar ki vg az ra fa hd ar fu kh ar to um sa he "
    "ti gr ay id li bal ep san aa ho de ida ki vu go ma mo ga di sh uc ab ode lg ad "
    "ora kh in chi ne vo lu ta mi ze po"
).split()


def make_places(rng: random.Random, count: int) -> list[str]:
    """Place names for watchlists to track: a few real ones and many generated ones, as a
    thousand watchlists about a thousand different conflicts would have."""
    places = set(NAMES)
    while len(places) < count:
        places.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title())
    return sorted(places)


PLACES = make_places(random.Random(7), 6000)


def make_article(rng: random.Random) -> tuple[str, str, str]:
    """A synthetic article in one of three languages that names a few places."""
    language = rng.choice(list(VOCABULARY))
    words = VOCABULARY[language]
    mentioned = rng.sample(NAMES, 1) + rng.sample(PLACES, 3)
    sentences = []
    for _ in range(rng.randint(25, 45)):
        sentence = [rng.choice(words) for _ in range(rng.randint(8, 18))]
        if rng.random() < 0.15:
            sentence.insert(rng.randrange(len(sentence)), rng.choice(mentioned))
        sentences.append(" ".join(sentence).capitalize() + ".")
    title = " ".join(rng.choice(words) for _ in range(8)).capitalize()
    return (
        title,
        "\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)),
        language,
    )


def long_tailed_vocabularies(rng: random.Random, size: int = 3000) -> dict[str, list[str]]:
    """Per language, ``size`` words ranked for a Zipf law, as real text uses words: the
    function words of VOCABULARY first, its topic words one every fifteen ranks from rank 20,
    and between them made-up words (ending in q: no place name or query word is one)."""
    vocabularies = {}
    for language, words in VOCABULARY.items():
        letters = "bcdfgjklmnprstvwz"
        filler = [
            "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
            + "q"
            for _ in range(size - len(words))
        ]
        ranked = words[:20] + filler
        for i, word in enumerate(words[20:]):
            ranked.insert(20 + i * 15, word)
        vocabularies[language] = ranked
    return vocabularies


def make_long_tailed_article(
    rng: random.Random, vocabularies: dict[str, list[str]]
) -> tuple[str, str, str]:
    """Like ``make_article``, with words drawn by a Zipf law (rank r with weight 1/r): a topic
    word recurs a few times, not nine, and an article holds about 250 distinct words, not 50."""
    language = rng.choice(list(vocabularies))
    words = vocabularies[language]
    weights = _zipf_weights(len(words))
    mentioned = rng.sample(NAMES, 1) + rng.sample(PLACES, 3)
    sentences = []
    for _ in range(rng.randint(25, 45)):
        sentence = rng.choices(words, cum_weights=weights, k=rng.randint(8, 18))
        if rng.random() < 0.15:
            sentence.insert(rng.randrange(len(sentence)), rng.choice(mentioned))
        sentences.append(" ".join(sentence).capitalize() + ".")
    title = " ".join(rng.choices(words, cum_weights=weights, k=8)).capitalize()
    return (
        title,
        "\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)),
        language,
    )


def _zipf_weights(size: int) -> list[float]:
    return list(itertools.accumulate(1 / rank for rank in range(1, size + 1)))


def make_watchlist(rng: random.Random, i: int) -> WatchlistQuery:
    """About ten terms: four aliases of a place (one of them a real conflict zone for one
    watchlist in fifty), AND six topic words of which one is a wildcard."""
    places = [*rng.sample(PLACES, 3), rng.choice(NAMES) if i % 50 == 0 else f"place{i}"]
    topics = rng.sample(VOCABULARY["en"][20:], 3) + rng.sample(VOCABULARY["id"][15:], 2)
    topics.append(f"topic{i}*")
    query = (
        f"({' OR '.join(chr(34) + p + chr(34) if ' ' in p else p for p in places)}) "
        f"AND ({' OR '.join(topics)})"
    )
    return WatchlistQuery(f"w{i}", query)


def extraction_ms(pages: int = 60) -> float:
    """Median time of one extraction as the crawl does it, on bench/sitegen.py's pages (the
    layout of a real CMS at 70-90 KB, like real news pages)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, "http://127.0.0.1:8000", pages)
        times = []
        for file in sorted(root.glob("news/**/*.html")):
            body = file.read_bytes()
            start = time.perf_counter()
            extract_article(
                decode_html(body, "utf-8"), ExtractionOptions(url="http://127.0.0.1:8000/news/x")
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


TABLE_HEADER = (
    "| watchlists | compile s | MB/s | ms/article | flagged articles | share of extraction |\n"
    "|---:|---:|---:|---:|---:|---:|"
)


def _row(
    count: int,
    watchlists: list[WatchlistQuery],
    articles: list[tuple[str, str, str]],
    megabytes: float,
    extract: float,
) -> tuple[str, float]:
    start = time.perf_counter()
    matcher = Matcher(watchlists) if watchlists else None
    compile_s = time.perf_counter() - start
    flagged = 0
    start = time.perf_counter()
    for title, body, language in articles:
        # What an extraction worker runs per article (crawler/extract/pool.py): the matches as
        # the records stored, and the search words, from one tokenisation.
        records, _words = analyse(matcher, title, body, language)
        flagged += bool(records)
    elapsed = time.perf_counter() - start
    per_article = elapsed / len(articles) * 1000
    return (
        f"| {count} | {compile_s:.2f} | {megabytes / elapsed:.1f} | {per_article:.3f} | "
        f"{flagged} | {per_article / extract:.1%} |"
    ), per_article


def _own(times: dict[int, float], extract: float) -> str:
    own = times[1000] - times[0]
    return (
        f"\nFlagging's own cost with 1,000 watchlists (beyond the search words, which the crawl "
        f"makes in any case): {own:.3f} ms per article, {own / extract:.1%} of extraction"
    )


def _shown(watchlists: list[WatchlistQuery], articles: list[tuple[str, str, str]]) -> str:
    """What cutting a stored match's snippets costs where they are shown (a digest, the export,
    the feed: not the crawl), from the match's stored hits and the article's text."""
    matcher = Matcher(watchlists)
    stored = [
        (title, body, record.hits)
        for title, body, language in articles
        for record in analyse(matcher, title, body, language)[0]
    ]
    start = time.perf_counter()
    for title, body, hits in stored:
        stored_snippets(title, body, hits)
    per_match = (time.perf_counter() - start) / len(stored) * 1000
    return (
        f"Snippets, cut when a match is shown (digest, export, feed; not in the crawl) from its "
        f"stored hits: {per_match:.3f} ms per match ({len(stored)} matches)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(20201102)
    articles = [make_article(rng) for _ in range(args.articles)]
    megabytes = sum(len((t + b).encode()) for t, b, _ in articles) / 1e6
    extract = extraction_ms()
    print(
        f"{args.articles} articles, {megabytes:.1f} MB of text; trafilatura extraction "
        f"{extract:.1f} ms per page (median over 60 bench/sitegen.py pages)\n"
    )
    print(TABLE_HEADER)
    # Last, 0: no watchlists, the search words alone, which the crawl makes in any case (what
    # the other rows cost beyond it is flagging's own).
    watchlists_by_count = {}
    times = {}
    for count in (10, 100, 1000, 0):
        watchlists = watchlists_by_count[count] = [make_watchlist(rng, i) for i in range(count)]
        line, times[count] = _row(count, watchlists, articles, megabytes, extract)
        print(line)
    print(_own(times, extract))
    print(_shown(watchlists_by_count[1000], articles[:2000]))
    # The same, on text whose words follow a Zipf law: fewer hits per match, more distinct
    # words per article.
    vocabularies = long_tailed_vocabularies(rng)
    articles = [make_long_tailed_article(rng, vocabularies) for _ in range(args.articles)]
    megabytes = sum(len((t + b).encode()) for t, b, _ in articles) / 1e6
    print(
        f"\nThe same watchlists over {args.articles} articles of long-tailed text "
        f"({megabytes:.1f} MB)\n"
    )
    print(TABLE_HEADER)
    for count in (1000, 0):
        line, times[count] = _row(count, watchlists_by_count[count], articles, megabytes, extract)
        print(line)
    print(_own(times, extract))
    return 0


if __name__ == "__main__":
    sys.exit(main())
