"""The outcome chart of the report page: stacked bars per day as inline SVG (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass

HEIGHT = 160
BAR = 14
GAP = 6
COLOURS = {"approved": "#3a7d44", "partially_approved": "#e0a526", "rejected": "#c0392b"}


@dataclass(frozen=True)
class Segment:
    x: int
    y: float
    height: float
    colour: str
    title: str


def outcome_chart(reports) -> dict:
    """Bars of approved / partially approved / rejected claims per report day, scaled to the busiest day."""
    rows = [(r.day, r.approved, r.partially_approved, r.rejected) for r in reports]
    peak = max((a + p + r for _, a, p, r in rows), default=0) or 1
    segments, labels = [], []
    for index, (day, *counts) in enumerate(rows):
        x, top = index * (BAR + GAP), float(HEIGHT)
        for outcome, count in zip(COLOURS, counts, strict=True):
            height = HEIGHT * count / peak
            top -= height
            segments.append(Segment(x, round(top, 1), round(height, 1), COLOURS[outcome], f"{day} {outcome}: {count}"))
        labels.append((x, day.strftime("%d")))
    return {
        "width": max(len(rows) * (BAR + GAP), 1),
        "height": HEIGHT,
        "bar": BAR,
        "peak": peak if rows else 0,
        "segments": segments,
        "labels": labels,
        "legend": [(outcome.replace("_", " "), colour) for outcome, colour in COLOURS.items()],
    }
