"""Distributing a crawl: the shared frontier in Redis, the Scrapy scheduler over it, the
worker command, and what the workers share of each source's run."""
