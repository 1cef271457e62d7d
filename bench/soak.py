"""Soak: the daemon's memory over hundreds of crawls.

    python bench/soak.py [--crawls 300] [--every 1s]

Serves the bundled demo site on 127.0.0.1, starts `presswatch run` with both demo sources
crawled every `--every`, and samples the daemon's own memory (RSS and PSS of the daemon process,
not of its crawl processes) after every 10 finished crawls until `--crawls` have finished.
Prints the samples and the growth from the first sample to the last.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from crawler.demo import SITE  # noqa: E402
from crawler.demo.run import demo_config  # noqa: E402
from crawler.demo.server import SiteServer  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.models import CrawlRun  # noqa: E402


def finished_crawls(database: Path) -> int:
    if not database.exists():
        return 0
    engine = make_engine(f"sqlite:///{database}", write=False)
    try:
        with Session(engine) as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(CrawlRun).where(CrawlRun.status != "running")
                )
                or 0
            )
    except OperationalError:
        return 0
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crawls", type=int, default=300)
    parser.add_argument("--every", default="1s")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="presswatch-soak-"))
    root = work / "site"
    shutil.copytree(SITE, root)
    server = SiteServer([root]).start()
    config = work / "presswatch.toml"
    text = demo_config(server, "soak.db", timeout="3s")
    text = text.replace('every = "15m"', f'every = "{args.every}"')
    text = text.replace('every = "30m"', f'every = "{args.every}"')
    text = text.replace("[[sources]]", "[daemon]\nadaptive = false\n\n[[sources]]", 1)
    config.write_text(text, encoding="utf-8")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "presswatch"), "--config", str(config), "run"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = psutil.Process(daemon.pid)
    samples: list[tuple[int, float, float, float]] = []
    started = time.monotonic()
    next_sample = 10
    try:
        while True:
            done = finished_crawls(work / "soak.db")
            if done >= next_sample:
                memory = process.memory_full_info()
                samples.append(
                    (done, time.monotonic() - started, memory.rss / 1e6, memory.pss / 1e6)
                )
                print(
                    f"{done:4d} crawls, {samples[-1][1]:6.0f} s: daemon RSS "
                    f"{samples[-1][2]:.1f} MB, PSS {samples[-1][3]:.1f} MB",
                    file=sys.stderr,
                )
                next_sample = done - done % 10 + 10
            if done >= args.crawls or daemon.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if len(samples) < 2:
        sys.exit("bench: too few samples (did the daemon start?)")
    first, last = samples[0], samples[-1]
    peak = max(s[2] for s in samples)
    print(
        f"\n{last[0]} crawls in {last[1]:.0f} s (2 demo sources every {args.every}, "
        f"at most 2 at once)"
    )
    print("| after crawls | daemon RSS MB | daemon PSS MB |\n|---:|---:|---:|")
    for done, _, rss, pss in [*samples[:: max(1, len(samples) // 10)], last]:
        print(f"| {done} | {rss:.1f} | {pss:.1f} |")
    print(
        f"\ngrowth from {first[0]} to {last[0]} crawls: {last[2] - first[2]:+.1f} MB RSS "
        f"({(last[2] - first[2]) / first[2]:+.1%}); peak {peak:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
