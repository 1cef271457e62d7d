"""Watchlists: the query language, the multilingual matcher, snippets. No Scrapy, no Twisted."""
