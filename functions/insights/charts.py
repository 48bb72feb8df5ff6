"""Charts as SVG built on the server: readable without JavaScript, nothing external, text alternatives.

Every chart is an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>``; the page shows a
table of the same numbers next to each. Colours are presentation attributes (the pages' CSP allows no
external anything and inline styles only). Every text drawn comes through ``markupsafe.escape``, so a
product called ``<script>`` is drawn as those characters. Charts are laid out left to right in every
locale (``direction="ltr"``), labels in their own script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

INK, MUTED, GRID = "#1d2430", "#4f5968", "#d5dae2"
GOOD, NEUTRAL, BAD, ACCENT = "#1e7a4f", "#8a94a6", "#b3261e", "#2f5f98"
MAX_LABEL = 44


@dataclass(frozen=True)
class Chart:
    """A drawn chart; renders as its SVG in a template."""

    svg: Markup
    title: str
    wide: bool  # columns: on a narrow screen it scrolls sideways rather than shrinking its text

    def __html__(self) -> str:
        return str(self.svg)


@dataclass(frozen=True)
class Series:
    """One stacked series of a column chart: its name (for the legend) and a value per column."""

    name: str
    values: Sequence[float | None]
    colour: str


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart."""

    label: str
    value: float
    text: str  # the value as the page writes it ("4.5", "62 %", "€ 12.00")
    colour: str = ACCENT


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(ident: str, width: int, height: int, title: str, desc: str, css_class: str) -> Markup:
    """The ``<svg>`` element, named by its title and described by its desc (``ident`` is page-unique)."""
    return Markup(
        '<svg class="{css_class}" role="img" aria-labelledby="{ident}-t {ident}-d" '
        'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'direction="ltr" font-family="system-ui, sans-serif" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{ident}-t">{title}</title><desc id="{ident}-d">{desc}</desc>'
    ).format(css_class=css_class, ident=ident, width=width, height=height, title=title, desc=desc)


def bars(ident: str, title: str, desc: str, rows: Sequence[Bar], top: float | None = None) -> Chart:
    """Horizontal bars, a label above each: long and non-Latin labels fit at any width."""
    width, row = 360, 38
    height = max(row * len(rows), row) + 4
    scale_top = top if top is not None else max((bar.value for bar in rows), default=0)
    parts = [_open(ident, width, height, title, desc, "chart bars")]
    for index, bar in enumerate(rows):
        y = index * row
        length = 0.0 if scale_top <= 0 else max(0.0, min(1.0, bar.value / scale_top)) * (width - 80)
        parts.append(
            Markup(
                '<text x="0" y="{label_y}" font-size="13" fill="{ink}">{label}</text>'
                '<rect x="0" y="{bar_y}" width="{track}" height="14" fill="{grid}" rx="2"/>'
                '<rect x="0" y="{bar_y}" width="{length:.1f}" height="14" fill="{colour}" rx="2"/>'
                '<text x="{text_x}" y="{text_y}" font-size="13" fill="{ink}">{text}</text>'
            ).format(
                label_y=y + 13,
                bar_y=y + 18,
                track=width - 80,
                length=length,
                colour=bar.colour,
                text_x=width - 74,
                text_y=y + 30,
                ink=INK,
                grid=GRID,
                label=_short(bar.label),
                text=bar.text,
            )
        )
    return Chart(_close(parts), title, wide=False)


def _close(parts: list[Markup]) -> Markup:
    return Markup("").join([*parts, Markup("</svg>")])


def _legend(series: Sequence[Series], y: int) -> list[Markup]:
    parts, x = [], 40
    for item in series:
        parts.append(
            Markup(
                '<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                '<text x="{text_x}" y="{text_y}" font-size="13" fill="{ink}">{name}</text>'
            ).format(
                x=x,
                y=y,
                colour=item.colour,
                text_x=x + 17,
                text_y=y + 11,
                ink=INK,
                name=_short(item.name, 24),
            )
        )
        x += 30 + 8 * min(len(item.name), 24)
    return parts


def _every(count: int) -> int:
    """Label every n-th column, counted back from the last, so labels never overlap (13 weeks: 2)."""
    return 1 if count <= 6 else 2 if count <= 13 else 8


@dataclass(frozen=True)
class _Frame:
    left: int
    top: int
    plot_width: int
    plot_height: int
    low: float
    high: float

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1
        return self.top + self.plot_height * (self.high - value) / span


def _axes(frame: _Frame, labels: Sequence[str], ticks: Sequence[tuple[float, str]]) -> list[Markup]:
    parts = []
    for value, text in ticks:
        y = frame.y(value)
        parts.append(
            Markup(
                '<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{grid}" stroke-width="1"/>'
                '<text x="{text_x}" y="{text_y:.1f}" font-size="12" fill="{muted}" '
                'text-anchor="end">{text}</text>'
            ).format(
                left=frame.left,
                right=frame.left + frame.plot_width,
                y=y,
                grid=GRID,
                text_x=frame.left - 6,
                text_y=y + 4,
                muted=MUTED,
                text=text,
            )
        )
    step = frame.plot_width / max(len(labels), 1)
    every = _every(len(labels))
    for index, label in enumerate(labels):
        if (len(labels) - 1 - index) % every == 0:
            parts.append(
                Markup(
                    '<text x="{x:.1f}" y="{y}" font-size="12" fill="{muted}" '
                    'text-anchor="middle">{label}</text>'
                ).format(
                    x=frame.left + step * (index + 0.5),
                    y=frame.top + frame.plot_height + 16,
                    muted=MUTED,
                    label=label,
                )
            )
    return parts


def columns(
    ident: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    ticks: Sequence[tuple[float, str]],
    *,
    low: float = 0.0,
    high: float | None = None,
    legend: bool | None = None,
) -> Chart:
    """Columns per week, stacked when there are several series; negative values hang below zero."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top = high if high is not None else max([*totals, *(value for value, _ in ticks), 1])
    frame = _Frame(left=52, top=10, plot_width=580, plot_height=170, low=low, high=top)
    legend = len(series) > 1 if legend is None else legend
    height = frame.top + frame.plot_height + (52 if legend else 26)
    parts = [_open(ident, 640, height, title, desc, "chart columns"), *_axes(frame, labels, ticks)]
    step = frame.plot_width / max(len(labels), 1)
    for index in range(len(labels)):
        base = 0.0
        for item in series:
            value = item.values[index]
            if not value:
                continue
            start, end = (base, base + value) if value > 0 else (value, 0.0)
            y_top, y_bottom = frame.y(end), frame.y(start)
            x = frame.left + step * index + step * 0.15
            parts.append(
                Markup(
                    '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}"/>'
                ).format(x=x, y=y_top, w=step * 0.7, h=max(y_bottom - y_top, 0.5), colour=item.colour)
            )
            base = end if value > 0 else base
    if legend:
        parts.extend(_legend(series, frame.top + frame.plot_height + 30))
    return Chart(_close(parts), title, wide=True)
