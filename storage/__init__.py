"""presswatch storage: SQLAlchemy 2.0 models and engines, split by table group (articles, runs,
listings, matches, search, deliveries, stories), with URL keys, dedup fingerprints, the daemon's
lock and schedule, and migrations. Imports nothing of ``crawler``."""
