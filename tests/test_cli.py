"""The `presswatch` command as a user meets it: init, check, and every bad input -> exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import _presswatch_command, presswatch


def test_init_writes_an_example_that_checks(tmp_path: Path) -> None:
    created = presswatch("init", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    config = tmp_path / "presswatch.toml"
    assert "[[sources]]" in config.read_text()
    checked = presswatch("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "sindonews" in checked.stdout and "OK" in checked.stdout
    assert not (tmp_path / "presswatch.db").exists()  # checking writes nothing


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "presswatch.toml").write_text("# mine\n")
    result = presswatch("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "--force" in result.stderr
    assert (tmp_path / "presswatch.toml").read_text() == "# mine\n"


def test_check_json_and_env_var(tmp_path: Path) -> None:
    presswatch("init", "--config", str(tmp_path / "pw.toml"), cwd=tmp_path)
    result = presswatch(
        "check", "--json", cwd=tmp_path, env={"PRESSWATCH_CONFIG": str(tmp_path / "pw.toml")}
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "sindonews"' in result.stdout


GOOD_SOURCE = '[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[crawl]\nmax_article_age = "7x"\n' + GOOD_SOURCE,
            "crawl.max_article_age: '7x' is not a duration",
        ),
        (GOOD_SOURCE + 'every = "soon"\n', "sources[0] ('a').every: 'soon' is not a duration"),
        (
            GOOD_SOURCE + 'timezone = "Mars/Base"\n',
            "sources[0] ('a').timezone: 'Mars/Base' is not a time zone",
        ),
        (
            GOOD_SOURCE + 'article_pattern = "(unclosed"\n',
            "article_pattern: '(unclosed' is not a regular expression",
        ),
        ('[[sources]]\nname = "a"\n', "sources[0] ('a'): Value error, needs at least one of feeds"),
        (
            '[[sources]]\nname = "a"\nfeeds = ["ftp://x"]\n',
            "sources[0] ('a').feeds: 'ftp://x' is not an http(s) URL",
        ),
        (GOOD_SOURCE + GOOD_SOURCE, "source name 'a' is used twice"),
        (GOOD_SOURCE + 'colour = "red"\n', "sources[0] ('a').colour: is not a known setting"),
        ('[storage]\nurl = "not a url"\n', "storage.url: 'not a url' is not a database URL"),
        (
            '[storage]\nstory_window = "5m"\n' + GOOD_SOURCE,
            "storage.story_window: must be at least 1h",
        ),
        ("[crawl\n", "is not valid TOML"),
    ],
)
def test_bad_config_is_one_sentence_exit_2_and_writes_nothing(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text(text)
    # Every command loads the config the same way; check them all on the first two cases.
    commands = (
        (["check"], ["crawl"], ["export"]) if "7x" in text or "soon" in text else (["check"],)
    )
    for command in commands:
        result = presswatch(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        message = result.stderr.strip()
        assert message.count("\n") == 0, message
        assert str(config) in message
        assert expected.replace("Value error, ", "") in message
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presswatch.toml"]


def test_missing_config_says_how_to_get_one(tmp_path: Path) -> None:
    result = presswatch("crawl", cwd=tmp_path)
    assert result.returncode == 2
    assert "presswatch init" in result.stderr


def test_unknown_source_and_bad_since(tmp_path: Path) -> None:
    (tmp_path / "presswatch.toml").write_text(GOOD_SOURCE)
    result = presswatch("crawl", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no source named 'nope' (configured: a)" in result.stderr
    result = presswatch("export", "--since", "last week", cwd=tmp_path)
    assert result.returncode == 2 and "--since: 'last week' is not a date" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presswatch.toml"]


def test_export_before_any_crawl_says_so(tmp_path: Path) -> None:
    (tmp_path / "presswatch.toml").write_text(GOOD_SOURCE)
    result = presswatch("export", cwd=tmp_path)
    assert result.returncode == 2 and "run `presswatch crawl`" in result.stderr


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = presswatch("--help", cwd=tmp_path)
    for command in ("init", "check", "crawl", "export", "demo", "db", "sources"):
        assert command in result.stdout
    export_help = presswatch("export", "--help", cwd=tmp_path).stdout
    assert "--since" in export_help and "--format" in export_help and "story_id" in export_help


def test_the_command_exits_with_its_status_after_its_threads_and_exit_handlers() -> None:
    # The presswatch command skips the interpreter's teardown: what a normal exit does before
    # that still happens (a thread pool left running is told to stop and joined, exit
    # handlers run, buffered output is written) and the status is main's.
    code = textwrap.dedent(
        """
        import atexit, sys
        from concurrent.futures import ThreadPoolExecutor
        import crawler.cli.main as cli
        pool = ThreadPoolExecutor(2)
        pool.submit(print, "from a pool thread").result()  # its thread stays, idle
        atexit.register(print, "exit handler ran")
        def main(argv=None):
            sys.stdout.write("buffered, unflushed")
            return 7
        cli.main = main
        cli.entry_point()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 7
    assert result.stdout == "from a pool thread\nbuffered, unflushedexit handler ran\n"


@pytest.mark.parametrize("args", [["version"], ["list"], ["crawl", "no-such-spider"], ["nonsense"]])
def test_crawls_run_by_the_daemon_behave_as_scrapy_does(args: list[str]) -> None:
    # The daemon and the cluster workers run `python -m crawler.scrapy.command crawl news ...`:
    # Scrapy's command line, ended without the interpreter's teardown. Same output, same status.
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.scrapy.settings"}

    def run(module: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    ours, scrapys = run("crawler.scrapy.command"), run("scrapy")
    assert ours.returncode == scrapys.returncode
    assert ours.stdout == scrapys.stdout


def test_output_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    # A full disk under `presswatch ... > file`: the output is cut short, so not a success.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*_presswatch_command(), "--version"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
    assert result.returncode == 120
    assert "could not write the output" in result.stderr
