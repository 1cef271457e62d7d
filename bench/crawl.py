"""Benchmark `presswatch crawl` end to end against a generated local news site served by nginx.

    python bench/crawl.py [--articles 2000] [--keep DIR]

Generates the site (bench/sitegen.py), serves it with nginx on 127.0.0.1, crawls it twice
into a fresh SQLite database with the example watchlists (the second crawl is the incremental
one of the unchanged site) and prints articles/s, CPU and peak memory of the process tree.
Needs nginx (`apt-get install nginx`) and psutil (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sitegen import generate  # noqa: E402

NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  types {{ text/html html; application/xml xml; text/plain txt; }}
  charset utf-8;
  charset_types application/xml text/plain;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""


@dataclass
class Row:
    design: str
    articles: int
    pages: int
    seconds: float
    cpu_seconds: float
    peak_mb: float

    @property
    def per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(root: Path, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        sys.exit("bench: nginx is not installed: run `apt-get install nginx` (Debian/Ubuntu)")
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root))
    process = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"bench: nginx did not start; see {tmp}/error.log")


def measure(
    command: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run ``command``; return it with wall seconds, CPU seconds and peak RSS (MB) of its
    process tree, sampled every 50 ms."""
    start = time.perf_counter()
    before = os.times()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return result, wall, cpu, peak / 1e6


def crawl_row(design: str, config: Path, workdir: Path) -> Row:
    command = [
        str(Path(sys.executable).parent / "presswatch"),
        "--config",
        str(config),
        "crawl",
        "-q",
        "--json",
    ]
    result, wall, cpu, peak = measure(command, workdir)
    if result.returncode != 0:
        sys.exit(f"bench: presswatch crawl failed:\n{result.stderr[-3000:]}")
    (summary,) = json.loads(result.stdout)
    if summary["errors"]:
        print(f"bench: {design}: errors {summary['errors']}", file=sys.stderr)
    return Row(design, summary["new"], summary["pages_fetched"], wall, cpu, peak)


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
    parser.add_argument("--keep", type=Path, help="keep the site, config and database here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="presswatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # nginx's workers run as another user and must read the site
    site = work / "site"
    if site.exists():
        shutil.rmtree(site)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"generating {args.articles} articles in {site} ...", file=sys.stderr)
    generate(site, base, args.articles)
    nginx = start_nginx(site, port, work)
    example = tomllib.loads((ROOT / "crawler" / "example.toml").read_text(encoding="utf-8"))
    watchlists = "".join(
        f"\n[[watchlists]]\nname = {json.dumps(w['name'])}\nquery = {json.dumps(w['query'])}\n"
        for w in example["watchlists"]
    )
    config = work / "presswatch.toml"
    (work / "bench.db").unlink(missing_ok=True)
    config.write_text(f"""
[storage]
url = "sqlite:///bench.db"
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
    try:
        rows = [
            crawl_row("presswatch crawl (first)", config, work),
            crawl_row("presswatch crawl (incremental)", config, work),
        ]
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(10)
    info = machine()
    print(
        f"\nmachine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
        f"Scrapy {info['scrapy']}, trafilatura {info['trafilatura']}"
    )
    print(f"site: {args.articles} generated articles served by nginx on 127.0.0.1\n")
    print(
        "| design | articles stored | pages fetched | seconds | articles/s | CPU s | "
        "cores used | peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.design} | {row.articles} | {row.pages} | {row.seconds:.1f} | "
            f"{row.per_second:.1f} | {row.cpu_seconds:.1f} | "
            f"{row.cpu_seconds / row.seconds:.2f} | {row.peak_mb:.0f} |"
        )
    first, second = rows
    print(
        f"\nincremental crawl: {first.seconds / second.seconds:.1f}x faster than the first, "
        f"{second.articles} articles stored, {second.pages} pages fetched"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "crawl.json").write_text(
        json.dumps(
            {"machine": info, "articles": args.articles, "rows": [asdict(r) for r in rows]},
            indent=2,
        )
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
