"""The digests' "mentions per day" chart: a small PNG of one bar row per watchlist for HTML and
email digests, and a one-line sparkline for text and Markdown ones. Pure rendering, no I/O."""

from __future__ import annotations

import datetime
import io
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH = 600
ROW_HEIGHT = 56
MARGIN_X = 10
MARGIN_TOP = 8
AXIS_HEIGHT = 22  # below the last row: the first and last date
LABEL_HEIGHT = 18  # the row's "name · total" line above its bars
FONT_SIZE = 12
MIN_BAR = 2  # a single mention among hundreds must still show
BAR_GAP = 2

BACKGROUND = (255, 255, 255)
TEXT = (51, 51, 51)
BASELINE = (190, 190, 190)
# Okabe–Ito colours, chosen to stay distinguishable with the common colour-vision deficiencies
# and dark enough against white; their yellow is left out as too light for thin bars.
PALETTE = (
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
)

# strftime("%b") follows the process locale; digests should not change with the host's.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BLOCKS = "▁▂▃▄▅▆▇█"

_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont | ImageFont.TransposedFont


def mentions_png(days: Sequence[datetime.date], series: Mapping[str, Sequence[int]]) -> bytes:
    """A PNG of small multiples: one row per watchlist (in the mapping's order), one bar per day."""
    for name, counts in series.items():
        if len(counts) != len(days):
            raise ValueError(
                f"watchlist {name!r} has {len(counts)} daily counts for {len(days)} days"
            )
        if any(count < 0 for count in counts):
            raise ValueError(f"watchlist {name!r} has a negative daily count")

    font = _font()
    if not series:
        image = Image.new("RGB", (WIDTH, MARGIN_TOP * 2 + LABEL_HEIGHT), BACKGROUND)
        ImageDraw.Draw(image).text(
            (MARGIN_X, MARGIN_TOP), _drawable("no mentions", font), fill=TEXT, font=font
        )
        return _png(image)

    height = MARGIN_TOP + ROW_HEIGHT * len(series) + AXIS_HEIGHT
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for row, (name, counts) in enumerate(series.items()):
        top = MARGIN_TOP + row * ROW_HEIGHT
        colour = PALETTE[row % len(PALETTE)]
        label = f"{name} · {sum(counts)} in {len(days)} {'day' if len(days) == 1 else 'days'}"
        draw.text((MARGIN_X, top + 2), _fitted(label, font, draw), fill=TEXT, font=font)
        _bars(draw, counts, top + LABEL_HEIGHT, top + ROW_HEIGHT - 4, colour)

    if days:
        axis_y = MARGIN_TOP + ROW_HEIGHT * len(series) + 2
        first, last = _day_label(days[0]), _day_label(days[-1])
        draw.text((MARGIN_X, axis_y), first, fill=TEXT, font=font)
        if len(days) > 1:
            right = WIDTH - MARGIN_X - draw.textlength(last, font=font)
            draw.text((right, axis_y), last, fill=TEXT, font=font)
    return _png(image)


def sparkline(counts: Sequence[int]) -> str:
    """The counts as a line of ▁▂▃▄▅▆▇█ (a space for zero), for text and Markdown digests."""
    peak = max(counts, default=0)
    if peak <= 0:
        return " " * len(counts)
    levels = len(_BLOCKS)
    # Ceiling division: any mention lands on at least the lowest block, only the peak on the top.
    return "".join(
        _BLOCKS[-(-count * levels // peak) - 1] if count > 0 else " " for count in counts
    )


def _bars(
    draw: ImageDraw.ImageDraw,
    counts: Sequence[int],
    top: int,
    baseline: int,
    colour: tuple[int, int, int],
) -> None:
    """One bar per day between ``top`` and ``baseline``, scaled to this row's own peak."""
    left, right = MARGIN_X, WIDTH - MARGIN_X
    draw.line([(left, baseline), (right - 1, baseline)], fill=BASELINE, width=1)
    peak = max(counts, default=0)
    if peak <= 0:
        return
    tallest = baseline - top
    plot = right - left
    n = len(counts)
    for day, count in enumerate(counts):
        if count <= 0:
            continue
        bar = max(MIN_BAR, (count * tallest + peak // 2) // peak)
        # Integer slot edges spread the leftover pixels evenly instead of piling them at the end.
        x0 = left + day * plot // n
        x1 = max(x0, left + (day + 1) * plot // n - 1 - BAR_GAP)
        draw.rectangle([(x0, baseline - bar), (x1, baseline - 1)], fill=colour)


def _font() -> _Font:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except (TypeError, OSError):
        # Pillow before 10.1 has no size argument; a build without FreeType may fail to load.
        return ImageFont.load_default()


def _drawable(text: str, font: _Font) -> str:
    # The bitmap fallback font only covers Latin-1 and raises on anything else.
    if isinstance(font, ImageFont.FreeTypeFont):
        return text
    return text.encode("latin-1", "replace").decode("latin-1")


def _fitted(text: str, font: _Font, draw: ImageDraw.ImageDraw) -> str:
    """``text`` shortened with an ellipsis until it fits the chart's width."""
    text = _drawable(text, font)
    room = WIDTH - 2 * MARGIN_X
    if draw.textlength(text, font=font) <= room:
        return text
    ellipsis = _drawable("…", font)
    while text and draw.textlength(text + ellipsis, font=font) > room:
        text = text[:-1]
    return text + ellipsis


def _day_label(day: datetime.date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}"


def _png(image: Image.Image) -> bytes:
    # A palette image is well under half the RGB size, which matters inline in an email. The
    # palette is fixed rather than computed, so bar colours come out exact and every anti-aliased
    # text pixel (a blend of TEXT and white) lands on the nearest step of a grey ramp.
    paletted = image.quantize(palette=_PALETTE_IMAGE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    # Pillow writes no timestamp chunk, so equal input gives equal bytes.
    paletted.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _palette_image() -> Image.Image:
    steps = 24
    grey = [
        tuple(t + (b - t) * i // (steps - 1) for t, b in zip(TEXT, BACKGROUND, strict=True))
        for i in range(steps)
    ]
    colours = [BACKGROUND, BASELINE, *PALETTE, *grey]
    image = Image.new("P", (1, 1))
    image.putpalette([channel for colour in colours for channel in colour])
    return image


_PALETTE_IMAGE = _palette_image()
