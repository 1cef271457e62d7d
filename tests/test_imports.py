"""The house rules on imports (README, "Where things are"): storage imports nothing of crawler;
only the Scrapy project and the cluster import Scrapy or Twisted; the folders depend on each other
in one direction only; and no module imports one that imports it back. Every import counts, the
ones inside functions too; those under ``if TYPE_CHECKING:`` do not (they never run)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each part of the system may import, besides itself, the bottom modules and storage. The
# bottom (config, units, items, escaping, quickexit) and storage sit under everything.
ALLOWED: dict[str, set[str]] = {
    "crawler.cli": {
        "crawler.service",
        "crawler.scrapy",
        "crawler.cluster",
        "crawler.extract",
        "crawler.watch",
        "crawler.digests",
        "crawler.sources",
        "crawler.web",
        "crawler.demo",
    },
    "crawler.demo": {"crawler.scrapy", "crawler.digests", "crawler.watch"},
    "crawler.service": {"crawler.cluster", "crawler.digests", "crawler.sources", "crawler.web"},
    "crawler.web": {"crawler.digests", "crawler.watch"},
    "crawler.scrapy": {
        "crawler.extract",
        "crawler.discover",
        "crawler.cluster",
        "crawler.watch",
        "crawler.digests",
    },
    # The cluster's worker runs the Scrapy project's spider; the spider joins the cluster's runs.
    "crawler.cluster": {"crawler.scrapy"},
    "crawler.extract": {"crawler.watch"},
    "crawler.digests": {"crawler.watch"},
    "crawler.sources": {"crawler.discover"},
    "crawler.discover": set(),
    "crawler.watch": set(),
    # The config checks each watchlist's query when it is loaded, so that a bad one is a config
    # error naming its key; the query language needs nothing of the config.
    "crawler": {"crawler.watch"},
    "storage": set(),
}
SCRAPY_ALLOWED = ("crawler.scrapy", "crawler.cluster")


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("crawler", "storage"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def imported_names(path: Path) -> Iterator[str]:
    """Every module name ``path`` imports at run time, as written (``a.b``, or ``a.b.c`` for
    ``from a.b import c`` when ``a.b.c`` is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in MODULES else node.module


def own_module(name: str) -> str | None:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def part_of(module: str) -> str:
    """The folder a module belongs to: ``crawler.watch``, ``storage``, or ``crawler`` for the
    modules at the bottom (the config package among them)."""
    parts = module.split(".")
    if parts[0] == "storage":
        return "storage"
    if parts[:2] == ["crawler", "config"]:
        return "crawler"
    if len(parts) > 1 and (ROOT / "crawler" / parts[1]).is_dir():
        return f"crawler.{parts[1]}"
    return "crawler"


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {own_module(name) for name in imported_names(path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


GRAPH = import_graph()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_rules_see_every_module_and_its_imports() -> None:
    # The rules below are only as good as the graph: it must hold the real edges.
    assert {"crawler.config", "crawler.scrapy.spiders.news", "storage.models"} <= set(MODULES)
    assert "crawler.scrapy.sourceruns" in GRAPH["crawler.scrapy.spiders.news"]
    assert "storage.models" in GRAPH["crawler.scrapy.pipelines"]
    assert set(ALLOWED) == {part_of(module) for module in MODULES}


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(GRAPH) == []


def test_each_part_imports_only_the_parts_below_it() -> None:
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if part_of(target) not in {part_of(module), "crawler", "storage"}
        and part_of(target) not in ALLOWED[part_of(module)]
    )
    assert crossing == []


def test_storage_imports_nothing_of_crawler() -> None:
    crossing = sorted(
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if part_of(module) == "storage"
        for name in imported_names(path)
        if name.split(".")[0] == "crawler"
    )
    assert crossing == []


def test_only_the_scrapy_project_and_the_cluster_import_scrapy_or_twisted() -> None:
    crossing = sorted(
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if not module.startswith(SCRAPY_ALLOWED)
        for name in imported_names(path)
        if name.split(".")[0] in {"scrapy", "twisted"}
    )
    assert crossing == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(graph) == expected


def test_a_single_machine_install_needs_no_redis() -> None:
    # redis is the `cluster` extra: the README's `pip install .` has none, and `presswatch
    # demo`, `crawl` and `run` must work without it (they did not, once: the spider imported
    # the cluster's share at its top).
    modules = [
        "crawler.cli.crawling",
        "crawler.scrapy.crawl",
        "crawler.scrapy.engine",
        "crawler.scrapy.spiders.news",
        "crawler.service.daemon",
        "crawler.web.app",
    ]
    code = "import sys\nsys.modules['redis'] = None\n" + "".join(f"import {m}\n" for m in modules)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
