"""Watchlists: the query language, the multilingual matcher, snippets, flagging and search over
stored articles. No Scrapy, no Twisted."""
