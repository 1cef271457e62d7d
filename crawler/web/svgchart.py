"""The overview's mentions-per-day chart as inline SVG geometry: one bar a day, scaled to the
watchlist's own peak (as the digests' PNG chart is), each bar titled with its day and count.
The template draws it; this module only computes where the bars go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH = 300
HEIGHT = 48
MIN_BAR = 2  # one mention among hundreds must still show
GAP = 1


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    day: str
    count: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    total: int
    peak: int
    first: str
    last: str
    label: str  # for screen readers: what the chart says in words


def bars(days: Sequence[date], counts: Sequence[int]) -> Chart:
    if len(days) != len(counts):
        raise ValueError(f"{len(counts)} counts for {len(days)} days")
    peak = max(counts, default=0)
    slot = WIDTH / max(1, len(days))
    drawn = []
    for index, (day, count) in enumerate(zip(days, counts, strict=True)):
        height = 0 if count <= 0 else max(MIN_BAR, round(count * HEIGHT / peak))
        x0 = round(index * slot)
        x1 = max(x0 + 1, round((index + 1) * slot) - GAP)
        drawn.append(Bar(x0, HEIGHT - height, x1 - x0, height, day.isoformat(), count))
    total = sum(counts)
    first = days[0].isoformat() if days else ""
    last = days[-1].isoformat() if days else ""
    label = f"{total} mentions from {first} to {last}, at most {peak} a day"
    return Chart(WIDTH, HEIGHT, tuple(drawn), total, peak, first, last, label)
