"""Extraction quality on the development corpus, presswatch beside trafilatura's defaults.

    python bench/quality.py [--corpus ../shared/corpus] [--worst 10] [--json]

The corpus (see its README) is real pages as their publishers served them, with ground truth:
``fundus`` (145 pages, 118 publishers, 11 languages: body, title, date, authors) and ``aeb``
(138 English pages: body only). Each page goes through what a crawl does with it
(``decode_html`` then ``extract_article``, no listing date), and through
``trafilatura.bare_extraction`` with its default settings. Printed per set: body precision,
recall and F1 (4-word shingles with counts, averaged over pages, as the corpus README
defines), the exact-body share, title exact, publication date on the right day, authors exact,
and milliseconds of CPU per page; then presswatch's worst pages by body F1. The figures go to
bench/results/quality.json too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    set: str
    url: str
    body: bytes
    truth: dict[str, Any]


@dataclass(slots=True)
class Extracted:
    text: str | None
    title: str | None
    published: datetime | str | None  # a datetime (presswatch) or an ISO day (trafilatura)
    authors: tuple[str, ...]
    seconds: float


@dataclass(slots=True)
class Scores:
    """Per page: body P/R/F1 and exactness; title, date, authors correct (None: no truth)."""

    id: str
    set: str
    precision: float
    recall: float
    f1: float
    exact: bool
    title: bool | None
    date: bool | None
    authors: bool | None


@dataclass(slots=True)
class Summary:
    pages: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    exact: float = 0.0
    title: float | None = None
    date: float | None = None
    authors: float | None = None
    ms_per_page: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def pages(corpus: Path) -> Iterator[Page]:
    truth_file = corpus / "truth.jsonl"
    if not truth_file.exists():
        sys.exit(
            f"bench: no corpus at {corpus} (truth.jsonl missing): pass --corpus DIR, the folder "
            "with truth.jsonl and html/"
        )
    with truth_file.open(encoding="utf-8") as lines:
        for line in lines:
            truth = json.loads(line)
            body = gzip.decompress((corpus / "html" / f"{truth['id']}.html.gz").read_bytes())
            yield Page(truth["id"], truth["set"], truth["url"], body, truth)


def presswatch(page: Page) -> Extracted:
    from crawler.extract.article import ExtractionOptions, extract_article
    from crawler.extract.decoding import decode_html

    start = time.process_time()
    article = extract_article(decode_html(page.body), ExtractionOptions(url=page.url))
    seconds = time.process_time() - start
    if article is None:
        return Extracted(None, None, None, (), seconds)
    return Extracted(
        article.text, article.title, article.published_at, tuple(article.authors), seconds
    )


def trafilatura_defaults(page: Page) -> Extracted:
    import trafilatura
    from trafilatura.metadata import Document

    from crawler.extract.decoding import decode_html

    html = decode_html(page.body)
    start = time.process_time()
    document = trafilatura.bare_extraction(html, url=page.url, with_metadata=True)
    seconds = time.process_time() - start
    if not isinstance(document, Document):
        return Extracted(None, None, None, (), seconds)
    authors = tuple(a.strip() for a in (document.author or "").split(";") if a.strip())
    return Extracted(document.text, document.title, document.date, authors, seconds)


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    if len(tokens) < 4:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def body_scores(extracted: str | None, truth: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of 4-token shingles with counts; 0 for no extraction."""
    if not extracted:
        return 0.0, 0.0, 0.0
    ours, theirs = _shingles(extracted), _shingles(truth)
    true_positives = sum((ours & theirs).values())
    precision = true_positives / max(1, sum(ours.values()))
    recall = true_positives / max(1, sum(theirs.values()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _line(text: str | None) -> str:
    """One line, NFC: a title or name compared as a reader sees it."""
    return unicodedata.normalize("NFC", " ".join((text or "").split()))


def _truth_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_right(found: datetime | str | None, truth: str | None) -> bool | None:
    """The publication day as the publisher's own zone (the truth's offset) sees it."""
    if not truth:
        return None
    expected = _truth_time(truth)
    if found is None:
        return False
    if isinstance(found, str):  # trafilatura gives a day, read in no zone
        return found[:10] == expected.date().isoformat()
    when = found if found.tzinfo else found.replace(tzinfo=UTC)
    return when.astimezone(expected.tzinfo).date() == expected.date()


def authors_right(found: tuple[str, ...], truth: list[str] | None) -> bool | None:
    if truth is None:
        return None
    return {_line(a).casefold() for a in found} == {_line(a).casefold() for a in truth}


def score(page: Page, extracted: Extracted) -> Scores:
    truth = page.truth
    precision, recall, f1 = body_scores(extracted.text, truth["body"])
    has_meta = page.set == "fundus"
    return Scores(
        id=page.id,
        set=page.set,
        precision=precision,
        recall=recall,
        f1=f1,
        exact=" ".join((extracted.text or "").split()) == " ".join(truth["body"].split()),
        title=(_line(extracted.title) == _line(truth["title"])) if has_meta else None,
        date=date_right(extracted.published, truth.get("published")) if has_meta else None,
        authors=authors_right(extracted.authors, truth.get("authors")) if has_meta else None,
    )


def _share(values: list[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def summarise(scores: list[Scores], seconds: float) -> Summary:
    n = len(scores)
    return Summary(
        pages=n,
        precision=sum(s.precision for s in scores) / n,
        recall=sum(s.recall for s in scores) / n,
        f1=sum(s.f1 for s in scores) / n,
        exact=sum(s.exact for s in scores) / n,
        title=_share([s.title for s in scores]),
        date=_share([s.date for s in scores]),
        authors=_share([s.authors for s in scores]),
        ms_per_page=1000 * seconds / n,
        counts={
            "f1_below_0.5": sum(s.f1 < 0.5 for s in scores),
            "nothing_extracted": sum(s.f1 == 0 and s.precision == 0 for s in scores),
        },
    )


def measure(corpus: Path, *, with_trafilatura: bool = True) -> dict[str, Any]:
    """Scores of every page by each extractor, and the summaries per set and overall."""
    extractors = {"presswatch": presswatch}
    if with_trafilatura:
        extractors["trafilatura defaults"] = trafilatura_defaults
    per_page: dict[str, list[Scores]] = {name: [] for name in extractors}
    seconds: dict[str, dict[str, float]] = {name: defaultdict(float) for name in extractors}
    for page in pages(corpus):
        for name, extract in extractors.items():
            extracted = extract(page)
            per_page[name].append(score(page, extracted))
            seconds[name][page.set] += extracted.seconds
    summaries: dict[str, dict[str, Summary]] = {}
    for name, scores in per_page.items():
        sets = sorted({s.set for s in scores})
        summaries[name] = {
            one: summarise([s for s in scores if s.set == one], seconds[name][one]) for one in sets
        }
        summaries[name]["all"] = summarise(scores, sum(seconds[name].values()))
    return {"summaries": summaries, "pages": per_page}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(summaries: dict[str, dict[str, Summary]]) -> str:
    rows = [
        "| extractor | set | pages | body P | body R | body F1 | body exact | title exact "
        "| date right day | authors exact | F1 < 0.5 | ms/page |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, per_set in summaries.items():
        for one, s in per_set.items():
            rows.append(
                f"| {name} | {one} | {s.pages} | {s.precision:.3f} | {s.recall:.3f} "
                f"| {s.f1:.3f} | {s.exact:.3f} | {_pct(s.title)} | {_pct(s.date)} "
                f"| {_pct(s.authors)} | {s.counts['f1_below_0.5']} | {s.ms_per_page:.1f} |"
            )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the corpus folder")
    parser.add_argument("--worst", type=int, default=10, help="presswatch's worst pages shown")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(args.corpus)
    summaries = result["summaries"]
    figures = {
        name: {one: asdict(s) for one, s in per_set.items()} for name, per_set in summaries.items()
    }
    worst = sorted(result["pages"]["presswatch"], key=lambda s: s.f1)[: args.worst]
    theirs = {s.id: s for s in result["pages"]["trafilatura defaults"]}
    out = ROOT / "bench" / "results" / "quality.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"figures": figures}, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps({"figures": figures, "worst": [asdict(s) for s in worst]}, indent=1))
        return 0
    print(table(summaries))
    print(f"\npresswatch's {len(worst)} worst pages by body F1 (trafilatura's F1 beside):")
    for s in worst:
        print(
            f"  {s.f1:.2f} (P {s.precision:.2f} R {s.recall:.2f}; trafilatura "
            f"{theirs[s.id].f1:.2f})  {s.set}/{s.id}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
