"""presswatch: a scheduled news-monitoring crawler."""

__version__ = "0.1.0"
