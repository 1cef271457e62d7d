"""Benchmark `presswatch crawl` end to end, side by side with the obvious design and the ceiling.

    python bench/crawl.py [--articles 2000] [--large 10000] [--rounds 3] [--keep DIR]

Generates a site (bench/sitegen.py), serves it with nginx on 127.0.0.1 and, in one run so the
ratios hold on a noisy machine (``--rounds`` interleaved rounds of 1-4, each design's fastest
round kept, every round's seconds printed), measures:

1. `presswatch crawl` into a fresh SQLite database with the example watchlists;
2. the same crawl again: the incremental crawl of the unchanged site;
3. the obvious design (bench/obvious.py: a SitemapSpider with trafilatura.extract inline,
   writing JSON lines);
4. the ceiling (bench/ceiling.py: trafilatura.extract over the same files, one process per
   core, no fetching);
5. `presswatch crawl` of a `--large` site, for memory (0 skips it).

For each: articles/s, CPU seconds and cores used, and the peak memory of the whole process tree
as PSS (each shared page counted once, split between the processes sharing it; the sum of RSS,
which counts the pages the fork server shares with the workers once per process, is in
bench/results/crawl.json). Needs nginx (`apt-get install nginx`) and psutil
(`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sitegen import generate  # noqa: E402

NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile {open_files};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  types {{ text/html html; application/xml xml; text/plain txt; }}
  charset utf-8;
  charset_types application/xml text/plain;
  server {{ {server} }}
}}
"""


@dataclass
class Row:
    design: str
    articles: int
    pages: int
    seconds: float
    cpu_seconds: float
    peak_mb: float  # PSS of the process tree
    peak_rss_mb: float = 0.0  # sum of RSS of the process tree

    @property
    def per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(
    root: Path,
    port: int,
    tmp: Path,
    name: str = "nginx",
    *,
    server: str | None = None,
    connections: int = 1024,
) -> subprocess.Popen[bytes]:
    """Serve ``root`` on 127.0.0.1:``port``; ``server`` replaces the server block's directives
    (``listen`` and ``root`` included), ``connections`` is nginx's worker_connections."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        sys.exit("bench: nginx is not installed: run `apt-get install nginx` (Debian/Ubuntu)")
    # Each connection is a socket, plus the file it serves; nginx cannot raise its limit of
    # open files past the hard limit it inherits (unless it runs with CAP_SYS_RESOURCE).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    open_files = 2 * connections if hard == resource.RLIM_INFINITY else min(2 * connections, hard)
    conf = tmp / f"{name}.conf"
    conf.write_text(
        NGINX_CONF.format(
            tmp=tmp,
            server=server or f"listen 127.0.0.1:{port}; root {root};",
            connections=min(connections, open_files),
            open_files=open_files,
        )
    )
    process = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"bench: nginx did not start; see {tmp}/error.log")


@dataclass
class Usage:
    seconds: float
    cpu_seconds: float
    peak_pss_mb: float
    peak_rss_mb: float
    max_processes: int = 0  # the most processes the tree had at one sample


def measure(
    command: list[str],
    cwd: Path,
    interval: float = 0.2,
    *,
    until: Callable[[], bool] | None = None,
    stop_grace: float = 60.0,
) -> tuple[subprocess.CompletedProcess[str], Usage]:
    """Run ``command`` and sample its process tree every ``interval`` seconds: peak PSS and
    RSS summed over the tree, the most processes at once, and CPU seconds summed over every
    process seen (each process's last sample: a process's final < ``interval`` seconds may be
    missed).

    ``until``, for a command that does not end by itself (a daemon): called after every
    sample; once it returns true the command gets SIGTERM, and its whole tree SIGKILL if it is
    still running ``stop_grace`` seconds later."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(process.pid)
    cpu: dict[tuple[int, float], float] = {}
    peak_pss = peak_rss = max_processes = 0
    stopping_since: float | None = None
    # Read the pipes in threads: a child that fills a pipe while we sample would stall.
    out: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=n, f=f: out.__setitem__(n, f.read()))
        for n, f in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        pss = rss = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for proc in tree:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory = proc.memory_full_info()
                cpu[(proc.pid, proc.create_time())] = times.user + times.system
                pss += memory.pss
                rss += memory.rss
            except psutil.Error:
                continue
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        max_processes = max(max_processes, len(tree))
        if stopping_since is None and until is not None and until():
            stopping_since = time.perf_counter()
            process.send_signal(signal.SIGTERM)
        elif stopping_since is not None and time.perf_counter() - stopping_since > stop_grace:
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
        # Waiting on the process rather than sleeping: its end is seen at once, not up to
        # ``interval`` later.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(interval)
    for reader in readers:
        reader.join()
    wall = time.perf_counter() - start
    result = subprocess.CompletedProcess(
        command, process.returncode, out.get("stdout", ""), out.get("stderr", "")
    )
    return result, Usage(wall, sum(cpu.values()), peak_pss / 1e6, peak_rss / 1e6, max_processes)


def crawl_row(design: str, config: Path, workdir: Path) -> Row:
    command = [
        str(Path(sys.executable).parent / "presswatch"),
        "--config",
        str(config),
        "crawl",
        "-q",
        "--json",
    ]
    result, usage = measure(command, workdir)
    if result.returncode != 0:
        sys.exit(f"bench: presswatch crawl failed:\n{result.stderr[-3000:]}")
    (summary,) = json.loads(result.stdout)
    if summary["errors"]:
        print(f"bench: {design}: errors {summary['errors']}", file=sys.stderr)
    return Row(
        design,
        summary["new"],
        summary["pages_fetched"],
        usage.seconds,
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
    )


def scrapy_responses(log: str) -> int:
    """The responses a Scrapy crawl downloaded, from the stats it logs when it closes."""
    return next(
        (
            int(line.split(":")[-1].strip().rstrip(","))
            for line in log.splitlines()
            if "'downloader/response_count'" in line
        ),
        0,
    )


def obvious_row(base: str, workdir: Path) -> Row:
    output = workdir / "obvious.jsonl"
    output.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).parent / "scrapy"),
        "runspider",
        str(ROOT / "bench" / "obvious.py"),
        "-a",
        f"sitemap={base}/sitemap.xml",
        "-o",
        str(output),
    ]
    # From a folder without scrapy.cfg, so presswatch's project settings do not apply.
    result, usage = measure(command, workdir)
    if result.returncode != 0:
        sys.exit(f"bench: the obvious design failed:\n{result.stderr[-3000:]}")
    articles = sum(1 for _ in output.open(encoding="utf-8"))
    pages = scrapy_responses(result.stderr)
    return Row(
        "obvious design (Scrapy + trafilatura.extract inline)",
        articles,
        pages,
        usage.seconds,
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
    )


def ceiling_row(site: Path, workdir: Path) -> Row:
    processes = len(os.sched_getaffinity(0))
    command = [sys.executable, str(ROOT / "bench" / "ceiling.py"), str(site)]
    result, usage = measure(command, workdir)
    if result.returncode != 0:
        sys.exit(f"bench: the ceiling run failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout)
    # Extraction time alone (the run's own clock), not the interpreter's start: the strictest
    # ceiling to compare with.
    return Row(
        f"ceiling: trafilatura.extract, {processes} processes, no fetch",
        figures["articles"],
        figures["pages"],
        figures["seconds"],
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
    )


def write_config(work: Path, base: str, name: str) -> Path:
    example = tomllib.loads((ROOT / "crawler" / "example.toml").read_text(encoding="utf-8"))
    watchlists = "".join(
        f"\n[[watchlists]]\nname = {json.dumps(w['name'])}\nquery = {json.dumps(w['query'])}\n"
        for w in example["watchlists"]
    )
    config = work / f"{name}.toml"
    (work / f"{name}.db").unlink(missing_ok=True)
    config.write_text(f"""
[storage]
url = "sqlite:///{name}.db"
[crawl]
autothrottle = false
concurrency = 32
concurrency_per_domain = 32
max_article_age = "7d"
timeout = "30s"
[[sources]]
name = "bench"
feeds = ["{base}/rss.xml"]
sitemaps = ["{base}/sitemap.xml"]
article_pattern = "/news/"
{watchlists}""")
    return config


def serve(site: Path, work: Path, count: int) -> tuple[str, subprocess.Popen[bytes]]:
    if site.exists():
        shutil.rmtree(site)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"generating {count} articles in {site} ...", file=sys.stderr)
    generate(site, base, count)
    return base, start_nginx(site, port, work, name=site.name)


def stop(nginx: subprocess.Popen[bytes]) -> None:
    nginx.send_signal(signal.SIGQUIT)
    nginx.wait(10)


def machine() -> dict[str, str]:
    import scrapy
    import trafilatura

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "trafilatura": trafilatura.__version__,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--large", type=int, default=10_000, help="articles of the memory run")
    parser.add_argument("--keep", type=Path, help="keep the sites, configs and databases here")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the four 2,000-article runs, interleaved; each design's fastest is kept",
    )
    args = parser.parse_args()
    # Bytecode compiled, as an install leaves it (with PYTHONDONTWRITEBYTECODE set, or from a
    # read-only checkout, every run would compile presswatch's own modules again).
    for package in ("crawler", "storage"):
        compileall.compile_dir(ROOT / package, quiet=1)
    work = args.keep or Path(tempfile.mkdtemp(prefix="presswatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # nginx's workers run as another user and must read the site

    site = work / "site"
    base, nginx = serve(site, work, args.articles)
    rounds: list[list[Row]] = []
    try:
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_} of {args.rounds} ...", file=sys.stderr)
            config = write_config(work, base, "bench")  # a fresh database each round
            rounds.append(
                [
                    crawl_row("presswatch crawl (first)", config, work),
                    crawl_row("presswatch crawl (incremental)", config, work),
                    obvious_row(base, work),
                    ceiling_row(site, work),
                ]
            )
    finally:
        stop(nginx)
    # Each design's fastest round: the machine's noise only ever slows a run down, and every
    # design gets the same number of tries, interleaved.
    rows = [min(runs, key=lambda r: r.seconds) for runs in zip(*rounds, strict=True)]
    first, second, obvious, ceiling = rows
    large = None
    if args.large:
        shutil.rmtree(site)  # room on the disk for the large site
        big_site = work / "site-large"
        big_base, nginx = serve(big_site, work, args.large)
        try:
            large = crawl_row(
                f"presswatch crawl (first), {args.large} articles",
                write_config(work, big_base, "large"),
                work,
            )
        finally:
            stop(nginx)
        rows.append(large)

    info = machine()
    print(
        f"\nmachine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
        f"Scrapy {info['scrapy']}, trafilatura {info['trafilatura']}"
    )
    print(f"site: {args.articles} generated articles served by nginx on 127.0.0.1")
    print(f"each design's fastest of {args.rounds} interleaved rounds; seconds of every round:")
    for runs in zip(*rounds, strict=True):
        print(f"  {runs[0].design}: {', '.join(f'{r.seconds:.1f}' for r in runs)}")
    # The same ratios within each round (designs run back to back, so a slow spell of the
    # machine weighs on both sides more evenly than across rounds), and their median.
    for name, index in (("obvious design", 2), ("extraction ceiling", 3)):
        paired = [r[0].per_second / r[index].per_second for r in rounds]
        print(
            f"  presswatch / {name}, within each round: "
            f"{', '.join(f'{x:.2f}' for x in paired)} (median {statistics.median(paired):.2f})"
        )
    print()
    print(
        "| design | articles | pages fetched | seconds | articles/s | CPU s | cores used | "
        "peak MB (PSS) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.design} | {row.articles} | {row.pages} | {row.seconds:.1f} | "
            f"{row.per_second:.1f} | {row.cpu_seconds:.1f} | "
            f"{row.cpu_seconds / row.seconds:.2f} | {row.peak_mb:.0f} |"
        )
    checks = [
        (
            "presswatch / obvious design",
            first.per_second / obvious.per_second,
            ">= 2.0x",
            first.per_second >= 2.0 * obvious.per_second,
        ),
        (
            "presswatch / extraction ceiling",
            first.per_second / ceiling.per_second,
            ">= 0.70x",
            first.per_second >= 0.70 * ceiling.per_second,
        ),
        (
            "incremental crawl speed-up",
            first.seconds / second.seconds,
            ">= 20x, no article fetched",
            first.seconds >= 20 * second.seconds and second.articles == 0,
        ),
        (
            f"peak memory, {args.articles} articles (MB)",
            first.peak_mb,
            "<= 350",
            first.peak_mb <= 350,
        ),
    ]
    if large is not None:
        checks.append(
            (
                f"peak memory, {args.large} articles (MB)",
                large.peak_mb,
                "<= 400",
                large.peak_mb <= 400,
            )
        )
    print("\n| target | measured | wanted | met |\n|---|---:|---|---|")
    for name, value, wanted, met in checks:
        print(f"| {name} | {value:.2f} | {wanted} | {'yes' if met else 'NO'} |")

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "crawl.json").write_text(
        json.dumps(
            {
                "machine": info,
                "articles": args.articles,
                "rows": [asdict(r) for r in rows],
                "rounds": [[asdict(r) for r in runs] for runs in rounds],
            },
            indent=2,
        )
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
