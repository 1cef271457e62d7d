"""How each tuning choice of the crawl changes its speed, one setting flipped at a time.

    python bench/tuning.py [--articles 2000] [--repeat 1]

Generates a site (bench/sitegen.py), serves it with nginx on 127.0.0.1 and runs
`scrapy crawl news` (the code path of `presswatch crawl`) into a fresh SQLite database once
with presswatch's settings and once per variant below, each variant changing one setting back
to Scrapy's default or to an alternative. Prints articles/s, CPU seconds and the change
against presswatch's settings. Needs nginx and psutil (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import measure, serve, stop, write_config  # noqa: E402

_META_REFRESH = "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"
VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("presswatch settings", {}),
    ("CONCURRENT_ITEMS = 100 (Scrapy's default; ours 4)", {"CONCURRENT_ITEMS": "100"}),
    (
        "epoll reactor (ours: asyncio, Scrapy's default)",
        {"TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor"},
    ),
    ("LOG_LEVEL = DEBUG (ours INFO)", {"LOG_LEVEL": "DEBUG"}),
    ("DNS cache off (ours on)", {"DNSCACHE_ENABLED": "False"}),
    (
        "meta-refresh middleware off (ours on)",
        {"DOWNLOADER_MIDDLEWARES": json.dumps({_META_REFRESH: None})},
    ),
    ("extraction inline, no workers (ours: 1 per core)", {"PRESSWATCH_WORKERS": "0"}),
    ("1 worker", {"PRESSWATCH_WORKERS": "1"}),
    ("3 workers", {"PRESSWATCH_WORKERS": "3"}),
    ("2 pages in flight per worker (ours 8)", {"PRESSWATCH_PAGES_IN_FLIGHT": "4"}),
    ("store batches of 1 (ours 50)", {"PRESSWATCH_STORE_BATCH": "1"}),
]


def run(config: Path, work: Path, settings: dict[str, str]) -> tuple[int, float, float]:
    database = config.with_suffix(".db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).parent / "scrapy"),
        "crawl",
        "news",
        "-a",
        "source=bench",
        "-a",
        f"config={config}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    result, usage = measure(command, ROOT)
    if result.returncode != 0:
        sys.exit(f"bench: crawl failed ({settings}):\n{result.stderr[-2000:]}")
    stored = next(
        (
            int(line.split(":")[-1].strip().rstrip(",}"))
            for line in result.stderr.splitlines()
            if "'store/new'" in line
        ),
        0,
    )
    return stored, usage.seconds, usage.cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (best kept)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="presswatch-tuning-"))
    work.chmod(0o755)
    base, nginx = serve(work / "site", work, args.articles)
    config = write_config(work, base, "tuning")
    rows = []
    try:
        for name, settings in VARIANTS:
            print(f"{name} ...", file=sys.stderr)
            runs = [run(config, work, settings) for _ in range(args.repeat)]
            stored, seconds, cpu = min(runs, key=lambda r: r[1])
            rows.append((name, stored, seconds, cpu))
    finally:
        stop(nginx)
        shutil.rmtree(work, ignore_errors=True)
    baseline = rows[0][1] / rows[0][2]
    print(f"\n{args.articles} generated articles, `scrapy crawl news`, nginx on 127.0.0.1\n")
    print("| variant | articles | seconds | articles/s | CPU s | vs presswatch settings |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, stored, seconds, cpu in rows:
        rate = stored / seconds
        print(
            f"| {name} | {stored} | {seconds:.1f} | {rate:.1f} | {cpu:.1f} | "
            f"{rate / baseline - 1:+.0%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
