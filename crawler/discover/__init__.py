"""Finding article links: feeds, sitemaps and section pages read from strings, no fetching."""
