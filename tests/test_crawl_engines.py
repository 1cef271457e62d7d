"""A crawl process makes one database engine that writes and one that reads
(``crawler.scrapy.database``), whatever reads and writes during the crawl: the spider's schema
check and reads, the run rows and articles written, urgent alerts sent, the summaries read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, start_site

# Counts the engines that open a connection while ``crawl_sources`` crawls every source.
DRIVER = """
import json, sys
from sqlalchemy import Engine, event
from crawler.config import load_config
from crawler.scrapy.crawl import crawl_sources

if __name__ == "__main__":
    engines = []

    def connected(connection):
        if all(connection.engine is not seen for seen in engines):
            engines.append(connection.engine)

    event.listen(Engine, "engine_connect", connected)
    config = load_config(sys.argv[1])
    summaries = crawl_sources(
        config, [s.name for s in config.sources], overrides={"PRESSWATCH_WORKERS": 0}
    )
    print(json.dumps({
        "engines": len(engines),
        "urls": sorted({str(engine.url) for engine in engines}),
        "statuses": [s.status for s in summaries],
    }))
"""


def test_a_crawl_makes_one_writing_and_one_reading_engine(tmp_path: Path) -> None:
    site = start_site(tmp_path, f"sqlite:///{tmp_path / 'crawl.db'}")
    try:
        text = site.config.read_text(encoding="utf-8")
        # Urgent alerts too: they used to make an engine of their own at each send.
        site.config.write_text(
            text.replace('name = "karabakh"\n', 'name = "karabakh"\npriority = "urgent"\n', 1)
            + '\n[[watchers]]\nname = "desk"\nwatchlists = ["karabakh"]\n'
            f'directory = "{tmp_path / "alerts"}"\n',
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-c", DRIVER, str(site.config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        site.server.stop()
    assert result.returncode == 0, result.stderr
    counted = json.loads(result.stdout.strip().splitlines()[-1])
    assert counted["statuses"] == ["finished", "finished"]
    assert any((tmp_path / "alerts").iterdir())  # the alerts were sent, in the crawl
    assert counted["engines"] == 2, counted
    assert counted["urls"] == [site.database_url]
