"""(html, url) -> ExtractedArticle | None: the article's text and metadata, the edge cleaning,
and the pool of worker processes (with its fork server) that runs it."""
