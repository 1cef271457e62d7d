"""Watchlists: the query language, the multilingual matcher, snippets, digests and their
delivery. No Scrapy, no Twisted."""
