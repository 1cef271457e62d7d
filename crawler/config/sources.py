"""``[[sources]]``: the news sites crawled: where their articles are listed (feeds, sitemaps,
pages), which links are articles, their language and zone, how often they are polled, and
the CSS selectors for sites the general extraction rules fail on.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cssselect import GenericTranslator, SelectorError
from pydantic import field_validator, model_validator

from crawler.config.base import (
    LANGUAGE,
    Duration,
    Section,
    check_name,
    check_url,
    check_zone,
)
from crawler.items import PageSelectors


class SourceConfig(Section):
    name: str
    feeds: list[str] = []
    sitemaps: list[str] = []
    pages: list[str] = []
    article_pattern: str | None = None
    allowed_domains: list[str] = []
    language: str | None = None
    timezone: str = "UTC"
    every: Duration = timedelta(minutes=15)
    # Bounds of the daemon's adaptive interval; default a quarter and four times `every`.
    min_every: Duration | None = None
    max_every: Duration | None = None
    # CSS selectors for the few sites where the general extraction rules fail.
    body_selector: str | None = None
    title_selector: str | None = None
    date_selector: str | None = None

    @property
    def interval_bounds(self) -> tuple[timedelta, timedelta]:
        return (self.min_every or self.every / 4, self.max_every or self.every * 4)

    @property
    def selectors(self) -> PageSelectors | None:
        if not (self.body_selector or self.title_selector or self.date_selector):
            return None
        return PageSelectors(self.body_selector, self.title_selector, self.date_selector)

    @field_validator("body_selector", "title_selector", "date_selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                GenericTranslator().css_to_xpath(value)
            except SelectorError as exc:
                raise ValueError(f"{value!r} is not a CSS selector ({exc})") from None
        return value

    @model_validator(mode="after")
    def _bounds(self) -> SourceConfig:
        low, high = self.interval_bounds
        if not low <= self.every <= high:
            raise ValueError(
                "min_every <= every <= max_every must hold: "
                f"{low.total_seconds():g}s, {self.every.total_seconds():g}s, "
                f"{high.total_seconds():g}s"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("source", value)

    @field_validator("feeds", "sitemaps", "pages")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return [check_url(v) for v in values]

    @field_validator("article_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE.match(value):
            raise ValueError(f"{value!r} is not a language code like 'id' or 'en'")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("every")
    @classmethod
    def _every(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value

    @model_validator(mode="after")
    def _has_entry_points(self) -> SourceConfig:
        if not (self.feeds or self.sitemaps or self.pages):
            raise ValueError("needs at least one of feeds, sitemaps or pages")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_urls(self) -> list[str]:
        return [*self.feeds, *self.sitemaps, *self.pages]

    @property
    def domains(self) -> list[str]:
        """Hosts (and their subdomains) the crawl may fetch from."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts = {urlsplit(u).hostname or "" for u in self.start_urls}
        return sorted(h for h in hosts if h)
