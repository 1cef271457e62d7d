"""The digests' mentions chart, read back as pixels: bars are the only coloured (non-grey)
pixels in it, so the tests find rows and days from the image itself, not from its layout code."""

from __future__ import annotations

import io
import struct
from collections import defaultdict
from datetime import date, timedelta

import pytest
from PIL import Image

from crawler.digests.chart import mentions_png, sparkline

DAYS = tuple(date(2025, 10, 30) + timedelta(days=i) for i in range(28))
WHITE = (255, 255, 255)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def bar_pixels(image: Image.Image) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """(x, y) of every coloured pixel, by colour; text, baseline and background are grey."""
    found: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    for y in range(image.height):
        for x in range(image.width):
            r, g, b = rgb(image, x, y)
            if not r == g == b:
                found[(r, g, b)].append((x, y))
    return found


def rgb(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    r, g, b = pixel
    return int(r), int(g), int(b)


def runs(xs: set[int]) -> list[range]:
    """Contiguous spans of x: one per bar."""
    spans: list[range] = []
    for x in sorted(xs):
        if spans and spans[-1].stop == x:
            spans[-1] = range(spans[-1].start, x + 1)
        else:
            spans.append(range(x, x + 1))
    return spans


def png_chunks(png: bytes) -> list[str]:
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        chunks.append(png[offset + 4 : offset + 8].decode("ascii"))
        offset += 12 + length
    return chunks


def test_png_is_600_wide_and_grows_a_row_per_watchlist() -> None:
    names = ["karabakh", "nusantara-energy", "palm-oil"]
    heights = []
    for n in range(1, 4):
        image = decode(mentions_png(DAYS, {name: [1] * len(DAYS) for name in names[:n]}))
        assert image.width == 600
        heights.append(image.height)
    assert heights[0] < heights[1] < heights[2]
    assert heights[2] - heights[1] == heights[1] - heights[0] >= 40


def test_each_row_has_its_own_bar_colour() -> None:
    series = {name: [i + 1] * len(DAYS) for i, name in enumerate(["a", "b", "c"])}
    colours = bar_pixels(decode(mentions_png(DAYS, series)))
    assert len(colours) == 3
    # In mapping order, top to bottom.
    tops = sorted(min(y for _, y in where) for where in colours.values())
    assert tops == sorted(set(tops))


def test_bars_follow_the_counts() -> None:
    probe = [1] * len(DAYS)
    probe[10], probe[14], probe[22], probe[20] = 8, 4, 2, 0
    image = decode(mentions_png(DAYS, {"reference": [1] * len(DAYS), "probe": probe}))
    colours = bar_pixels(image)
    assert len(colours) == 2
    reference, probed = sorted(colours, key=lambda c: min(y for _, y in colours[c]))

    # The reference row has a bar every day: its spans are the days' columns.
    columns = runs({x for x, _ in colours[reference]})
    assert len(columns) == len(DAYS)

    height = [0] * len(DAYS)
    for x, _ in colours[probed]:
        for day, column in enumerate(columns):
            if x in column:
                height[day] += 1
                break
        else:
            pytest.fail(f"probe bar pixel at x={x} outside every day's column")
    widths = [len(c) for c in columns]
    height = [h // w for h, w in zip(height, widths, strict=True)]

    assert height[10] == max(height)  # the row's peak
    assert height[10] > height[14] > height[22] > height[0] > 0  # 8 > 4 > 2 > 1
    assert height[20] == 0

    # Above the row's baseline (from its tallest bar's top down to its bars' bottom), the zero
    # day's column is blank, the peak day's is not.
    top = min(y for _, y in colours[probed])
    bottom = max(y for _, y in colours[probed])

    def inked(day: int) -> int:
        return sum(rgb(image, x, y) != WHITE for x in columns[day] for y in range(top, bottom + 1))

    assert inked(20) == 0
    assert inked(10) == len(columns[10]) * (bottom - top + 1)


def test_a_single_mention_beside_a_big_day_is_still_visible() -> None:
    image = decode(mentions_png(DAYS, {"spiky": [1000] + [1] * (len(DAYS) - 1)}))
    (bars,) = bar_pixels(image).values()
    assert len(runs({x for x, _ in bars})) == len(DAYS)


def test_same_input_same_bytes_and_no_timestamp() -> None:
    series = {"karabakh": [i % 5 for i in range(28)], "palm-oil": [(i * 7) % 11 for i in range(28)]}
    first = mentions_png(DAYS, series)
    again = mentions_png(list(DAYS), {k: tuple(v) for k, v in series.items()})
    assert first == again
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert set(png_chunks(first)) <= {"IHDR", "PLTE", "tRNS", "IDAT", "IEND"}


def test_three_watchlists_over_four_weeks_fit_in_an_email() -> None:
    series = {
        "karabakh": [(i * 3) % 7 for i in range(28)],
        "nusantara-energy": [(i * 13) % 41 for i in range(28)],
        "palm-oil": [0] * 27 + [1],
    }
    assert len(mentions_png(DAYS, series)) < 8_000


def test_no_watchlists_still_gives_a_small_png() -> None:
    empty = decode(mentions_png(DAYS, {}))
    one_row = decode(mentions_png(DAYS, {"karabakh": [0] * len(DAYS)}))
    assert empty.width == 600
    assert empty.height < one_row.height
    assert empty.getextrema() != ((255, 255), (255, 255), (255, 255))  # "no mentions" is written
    assert not bar_pixels(one_row)  # an all-zero row draws no bars


def test_counts_not_matching_the_days_name_the_watchlist() -> None:
    with pytest.raises(ValueError, match="nusantara-energy"):
        mentions_png(DAYS, {"karabakh": [0] * 28, "nusantara-energy": [0] * 27})


def test_sparkline() -> None:
    assert sparkline([0, 1, 4, 8]) == " ▁▄█"
    assert sparkline([1, 100]) == "▁█"  # any mention shows
    assert sparkline([3, 3]) == "██"
    assert sparkline([0, 0, 0]) == "   "
    assert sparkline([]) == ""
    assert sparkline(list(range(9))) == " ▁▂▃▄▅▆▇█"
    # Block k stands for (k-1)/8 < count/max <= k/8.
    assert sparkline([0, 1, 2, 3]) == " ▃▆█"
