"""presswatch storage: SQLAlchemy 2.0 models, engines, URL keys, dedup fingerprints, repository.

This package imports nothing from ``crawler``: it is the edge every other part writes through.
"""
