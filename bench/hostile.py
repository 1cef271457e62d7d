"""Benchmark `presswatch crawl` against each case of tests/hostile.py alone: what happens (the
error kinds its run records), how long it takes and the peak memory of the crawl's tree.

    python bench/hostile.py [--cases normal,compressed,...] [--keep DIR]

The hostile site (the tests' own, served from this process on 127.0.4.x) serves one case at a
time, and `presswatch crawl` runs that case's source with presswatch's default limits
(``timeout = "30s"``, ``max_page_size = "10MB"``, ``extract_timeout = "60s"``, 2 retries), as
bench/crawl.py measures: wall time, and the peak PSS of the whole process tree (the crawl, its
extraction workers and their fork server) sampled every 0.1 s. ``normal`` (two plain articles)
is the baseline. Prints a table and writes bench/results/hostile.json. Needs psutil.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import machine, measure  # noqa: E402
from tests.hostile import CASES, Case, Site  # noqa: E402

PRESSWATCH = [str(Path(sys.executable).parent / "presswatch")]


def run_case(case: Case, work: Path) -> dict[str, object]:
    folder = work / case.name
    folder.mkdir()
    site = Site(folder, (case,)).warm().start()
    try:
        config = folder / "presswatch.toml"
        config.write_text(site.config(f"sqlite:///{folder / 'crawl.db'}"), encoding="utf-8")
        started = time.perf_counter()
        result, usage = measure(
            [*PRESSWATCH, "--config", str(config), "crawl", "--json", "-q"], folder, 0.1
        )
        seconds = time.perf_counter() - started
    finally:
        site.stop()
    if result.returncode != 0 and not result.stdout.strip():
        raise SystemExit(f"{case.name}: the crawl failed:\n{result.stderr[-3000:]}")
    (summary,) = json.loads(result.stdout)
    return {
        "case": case.name,
        "what": case.what,
        "status": summary["status"],
        "errors": summary["errors"],
        "stored": summary["new"],
        "empty": summary["empty"],
        "expected_errors": case.errors,
        "expected_stored": case.stored,
        "seconds": round(seconds, 1),
        "peak_pss_mb": round(usage.peak_pss_mb, 0),
        "peak_rss_mb": round(usage.peak_rss_mb, 0),
    }


def outcome(row: dict[str, object]) -> str:
    errors = row["errors"]
    assert isinstance(errors, dict)
    kinds = ", ".join(f"`{kind}` ×{n}" for kind, n in sorted(errors.items())) or "no error"
    empty = f", {row['empty']} empty" if row["empty"] else ""
    return f"{kinds}; {row['stored']} stored{empty}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--keep", type=Path, help="keep the configs and databases here")
    args = parser.parse_args()
    wanted = args.cases.split(",") if args.cases else [c.name for c in CASES]
    unknown = set(wanted) - {c.name for c in CASES}
    if unknown:
        parser.error(f"no such case: {', '.join(sorted(unknown))}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="presswatch-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for case in CASES:
            if case.name in wanted:
                rows.append(run_case(case, work))
                print(f"{case.name}: {rows[-1]}", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("| case | what happens (error kind) | seconds | peak MB (PSS) |")
    print("|---|---|---:|---:|")
    for row in rows:
        print(f"| {row['what']} | {outcome(row)} | {row['seconds']} | {row['peak_pss_mb']:.0f} |")
    mismatched = [
        row["case"]
        for row in rows
        if row["errors"] != row["expected_errors"] or row["stored"] != row["expected_stored"]
    ]
    if mismatched:
        print(f"not as the tests expect: {', '.join(map(str, mismatched))}", file=sys.stderr)
    results = ROOT / "bench" / "results" / "hostile.json"
    results.write_text(
        json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
