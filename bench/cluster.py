"""Benchmark distributed crawling: articles per second with 1 and 2 `presswatch worker`s.

    python bench/cluster.py [--articles 2000] [--workers 1,2]

Generates a site (bench/sitegen.py) served by nginx on 127.0.0.1, starts a PostgreSQL server
(as the tests do: initdb/pg_ctl) and a redis-server, and for each worker count: a fresh
database and frontier, N workers, the daemon, one run of the source; the run's articles per
second from its crawl-run row (started by the daemon, closed by the last worker). Needs nginx,
PostgreSQL's server programs and redis-server (Debian: nginx-light postgresql redis-server).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import free_port, machine, serve, stop, write_config  # noqa: E402
from storage.models import CrawlRun  # noqa: E402
from tests.databases import PostgresServer  # noqa: E402

PRESSWATCH = [str(Path(sys.executable).parent / "presswatch")]


def start_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: apt-get install redis-server")
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )


def one_run(config: Path, workdir: Path, workers: int, database: str) -> dict[str, Any]:
    logs = [(workdir / f"{config.stem}-worker{i}.log").open("w") for i in range(workers)]
    procs = [
        subprocess.Popen(
            [*PRESSWATCH, "--config", str(config), "worker"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for log in logs
    ]
    time.sleep(2)
    daemon = subprocess.Popen(
        [*PRESSWATCH, "--config", str(config), "run"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"{config.stem}-daemon.log").open("w"),
    )
    engine = create_engine(database, poolclass=NullPool)
    run: CrawlRun | None = None
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                with Session(engine) as session:
                    run = session.scalars(
                        select(CrawlRun).where(CrawlRun.status != "running")
                    ).first()
            except Exception:
                run = None  # the schema is being created
            if run is not None:
                break
    finally:
        for proc in [daemon, *procs]:
            proc.send_signal(signal.SIGTERM)
        for proc in [daemon, *procs]:
            proc.wait(120)
        engine.dispose()
    if run is None or run.finished_at is None:
        sys.exit(f"the run with {workers} workers did not finish")
    seconds = (run.finished_at - run.started_at).total_seconds()
    return {
        "workers": workers,
        "status": run.status,
        "articles": run.articles_fetched,
        "new": run.new,
        "seconds": round(seconds, 1),
        "articles_per_second": round(run.articles_fetched / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="presswatch-bench-cluster-"))
    work.chmod(0o755)  # nginx's workers read the site as another user
    base, nginx = serve(work / "site", work, args.articles)
    postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="presswatch-bench-pg-"))).start()
    redis_port = free_port()
    redis_server = start_redis(redis_port)
    rows = []
    try:
        for workers in counts:
            database = postgres.create_database()
            config = write_config(work, base, f"cluster{workers}")
            text = config.read_text().replace(
                f'url = "sqlite:///cluster{workers}.db"', f'url = "{database}"'
            )
            text += (
                f'\n[cluster]\nredis_url = "redis://127.0.0.1:{redis_port}/0"\n'
                f'key_prefix = "bench{workers}"\n'
            )
            config.write_text(
                text.replace("[[sources]]", "[daemon]\nadaptive = false\n[[sources]]", 1)
            )
            print(f"{workers} worker(s) ...", file=sys.stderr)
            rows.append(one_run(config, work, workers, database))
    finally:
        redis_server.terminate()
        postgres.stop()
        stop(nginx)
    print(f"\n{'workers':>7} {'articles':>8} {'seconds':>8} {'articles/s':>10}  status")
    for row in rows:
        print(
            f"{row['workers']:>7} {row['articles']:>8} {row['seconds']:>8} "
            f"{row['articles_per_second']:>10}  {row['status']}"
        )
    result = {"machine": machine(), "articles": args.articles, "rows": rows}
    out = ROOT / "bench" / "results" / "cluster.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n(also in {out.relative_to(ROOT)})")
    if args.keep:
        print(f"logs in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
