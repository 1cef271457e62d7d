"""The ``news`` spider's ``-a`` arguments, validated once into a typed object."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

USAGE = "usage: scrapy crawl news [-a source=NAME | -a sources=A,B] [-a config=FILE]"


class NewsArgs(BaseModel):
    """The spider's ``-a`` arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    sources: str | None = None  # comma-separated; with neither: every configured source
    config: str | None = None
    # The daemon's engine: open until stopped, fed sources as they come due.
    serve: bool = False
    # A cluster worker's engine: open until stopped, in every run announced in the frontier.
    cluster: bool = False
    # Seconds a run may take before it is ended as timed out (0: no limit).
    time_limit: float = 0

    @model_validator(mode="after")
    def _one_way(self) -> NewsArgs:
        if self.source is not None and self.sources is not None:
            raise ValueError("give either source or sources, not both")
        return self

    @property
    def names(self) -> list[str] | None:
        if self.source is not None:
            return [self.source]
        if self.sources is not None:
            return [n.strip() for n in self.sources.split(",") if n.strip()]
        return None
