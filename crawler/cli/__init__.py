"""The `presswatch` command: ``parser`` (every command's arguments and help), ``main`` (runs
one), and a module per group of commands holding their argument handling and output. A command's
module is imported only when it runs, and the commands that crawl, run the daemon, serve the web
view or extract a page import Scrapy, APScheduler, the web stack or trafilatura inside the
command, so that `presswatch --help` or `status` does not pay for them."""
