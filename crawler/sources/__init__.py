"""Adding sources the way people have them: site addresses (``finder``: what to crawl on a
site, probed over ``probe``), OPML lists (``opml``), and the config file edited in place
(``configfile``). ``commands`` is what ``presswatch sources ...`` runs."""
