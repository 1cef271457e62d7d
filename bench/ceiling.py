"""The extraction ceiling: ``trafilatura.extract`` over a generated site's article files with
one process per core, no fetching and no storage. ``bench/crawl.py`` runs it as

    python bench/ceiling.py SITE_DIR [--processes N]

and reads the one JSON line it prints: pages, articles (pages with text) and seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import trafilatura


def extract_file(path: str) -> bool:
    html = Path(path).read_text(encoding="utf-8")
    return trafilatura.extract(html, url=f"http://bench/{path}", with_metadata=True) is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    files = sorted(str(p) for p in args.site.glob("news/**/*.html"))
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        found = sum(pool.imap_unordered(extract_file, files, chunksize=16))
    seconds = time.perf_counter() - start
    print(json.dumps({"pages": len(files), "articles": found, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
