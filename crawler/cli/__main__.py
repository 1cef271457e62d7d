"""``python -m crawler.cli``: the `presswatch` command."""

from crawler.cli.main import entry_point

entry_point()
