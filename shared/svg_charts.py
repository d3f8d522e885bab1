"""Charts as server-rendered SVG and HTML rows, with no image library: used by the reports service (the HTML that
becomes the PDF: WeasyPrint draws SVG natively) and by the web pages. Clustered columns are inline SVG; long
horizontal bar charts are HTML rows (faster to lay out, and they break across pages).

SVG units are millimetres (the viewBox is the size on the page); text is Liberation Serif like the rest of the
document so Vietnamese labels keep their diacritics. Bars carry their value at the end ("81,33"); columns
carry it rotated above each column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Protocol

from shared.vi_numbers import vi_decimal

FONT = "Liberation Serif, Times New Roman, DejaVu Serif, serif"
TEXT_WIDTH_MM = 165.0  # A4 portrait less the Nghị định 30 margins (30 mm left, 15 mm right)
MAX_LABEL_CHARS = 48


class SeriesData(Protocol):
    """One series of a chart (the reports layout's ``Series`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def values(self) -> Sequence[Decimal | None]: ...
    @property
    def color(self) -> str: ...


class BarChart(Protocol):
    """What a chart needs: categories, series of values, the top of the scale (the reports layout's ``BarChart``)."""

    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def series(self) -> Sequence[SeriesData]: ...
    @property
    def max_value(self) -> Decimal: ...


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _scale(chart: BarChart) -> Decimal:
    top = max([v for s in chart.series for v in s.values if v is not None] + [chart.max_value])
    return top if top > 0 else Decimal(1)


def chart_svg(chart: BarChart, width_mm: float = TEXT_WIDTH_MM) -> str:
    """Clustered columns for a chart with few categories (the areas). Long horizontal bar charts (one bar per
    unit) are drawn as HTML rows instead (see ``horizontal_bars``): WeasyPrint lays out HTML text several
    times faster than SVG text, and rows can break across pages."""
    return _columns(chart, width_mm)


BARS_TRACK_MM = TEXT_WIDTH_MM * 0.6  # the bar column of the HTML bar chart (60% of the text width)


@dataclass(frozen=True)
class BarRow:
    label: str
    width_pct: str  # of the row's bar track
    value: str
    inside: bool  # the value is written in white inside the bar's end (else just past a short bar)
    pad_mm: str  # inside: right padding that ends the value 1 mm before the bar's end; outside: left padding


def horizontal_bars(chart: BarChart, track_pct: float = 86.0) -> list[BarRow]:
    """One row per category: the bar's width as a share of the track, and where its value goes."""
    scale = float(_scale(chart))
    series = chart.series[0]
    rows = []
    for category, value in zip(chart.categories, series.values, strict=True):
        width = 0.0 if value is None else max(0.0, float(value) / scale * track_pct)
        bar_mm = BARS_TRACK_MM * width / 100
        inside = width >= 15
        pad = BARS_TRACK_MM - bar_mm + 1 if inside else bar_mm + 1
        rows.append(BarRow(_label(category), f"{width:.2f}", "" if value is None else vi_decimal(value), inside,
                           f"{pad:.1f}"))
    return rows


def gridline_step_pct(chart: BarChart, track_pct: float = 86.0, step: int = 20) -> str:
    return f"{track_pct * step / float(_scale(chart)):.4f}"


def _columns(chart: BarChart, width: float) -> str:
    n = max(1, len(chart.categories))
    k = max(1, len(chart.series))
    axis_w, top, bottom, height = 10.0, 16.0, 10.0, 100.0
    plot_w, plot_h = width - axis_w - 2, height - top - bottom
    group_w = plot_w / n
    bar_w = group_w * 0.8 / k
    scale = float(_scale(chart))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(width)}mm" height="{_fmt(height)}mm" '
           f'viewBox="0 0 {_fmt(width)} {_fmt(height)}" font-family="{FONT}">']
    legend_x = axis_w
    for s in chart.series:  # legend on top
        out.append(f'<rect x="{_fmt(legend_x)}" y="2" width="3" height="3" fill="{s.color}"/>')
        out.append(f'<text x="{_fmt(legend_x + 4)}" y="4.7" font-size="3">{escape(s.name)}</text>')
        legend_x += 8 + len(s.name) * 1.6
    for tick in range(0, 101, 20):
        y = top + plot_h * (1 - tick / 100)
        out.append(f'<line x1="{_fmt(axis_w)}" y1="{_fmt(y)}" x2="{_fmt(axis_w + plot_w)}" y2="{_fmt(y)}" '
                   f'stroke="#bbbbbb" stroke-width="0.15"/>')
        out.append(f'<text x="{_fmt(axis_w - 1)}" y="{_fmt(y + 0.9)}" font-size="2.6" text-anchor="end">'
                   f'{escape(vi_decimal(Decimal(scale * tick / 100), 0))}</text>')
    for i, category in enumerate(chart.categories):
        gx = axis_w + i * group_w + group_w * 0.1
        for j, s in enumerate(chart.series):
            value = s.values[i]
            if value is None:
                continue
            h = plot_h * float(value) / scale
            x = gx + j * bar_w
            out.append(f'<rect x="{_fmt(x)}" y="{_fmt(top + plot_h - h)}" width="{_fmt(bar_w * 0.92)}" '
                       f'height="{_fmt(max(h, 0))}" fill="{s.color}"/>')
            cx, cy = x + bar_w * 0.46 + 0.7, top + plot_h - h - 0.8
            out.append(f'<text x="{_fmt(cx)}" y="{_fmt(cy)}" font-size="2.1" '
                       f'transform="rotate(-90 {_fmt(cx)} {_fmt(cy)})">{escape(vi_decimal(value))}</text>')
        out.append(f'<text x="{_fmt(axis_w + (i + 0.5) * group_w)}" y="{_fmt(top + plot_h + 4.5)}" font-size="2.8" '
                   f'text-anchor="middle">{escape(category)}</text>')
    out.append(f'<line x1="{_fmt(axis_w)}" y1="{_fmt(top + plot_h)}" x2="{_fmt(axis_w + plot_w)}" '
               f'y2="{_fmt(top + plot_h)}" stroke="black" stroke-width="0.25"/>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    """A series for the charts drawn here (lines or bars)."""

    name: str
    values: tuple[Decimal | None, ...]
    color: str = "#1f4e79"
    dash: str = ""  # lines: e.g. "6 4", told apart without colour


@dataclass(frozen=True)
class Chart:
    """Categories and their series: what ``horizontal_bars`` draws for callers without a document layout."""

    categories: tuple[str, ...]
    series: tuple[Series, ...]
    max_value: Decimal = Decimal(100)


def line_svg(categories: Sequence[str], series: Sequence[Series], title: str,
             max_value: Decimal = Decimal(100), unit: str = "%") -> str:
    """A trend as lines over few categories (e.g. twelve months), for screens: the viewBox is in pixels and the
    SVG scales to its container. Every point carries its value as a tooltip; a missing value breaks the line.
    The caller shows the same figures as a table beside it (the accessible form of the chart)."""
    width, height, left, right, top, bottom = 640.0, 260.0, 44.0, 12.0, 34.0, 30.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(categories))
    step = plot_w / n
    scale = float(max_value) or 1.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(width)} {_fmt(height)}" role="img" '
           f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="13">',
           f"<title>{escape(title)}</title>"]
    legend_x = left
    for s in series:
        out.append(f'<line x1="{_fmt(legend_x)}" y1="14" x2="{_fmt(legend_x + 22)}" y2="14" stroke="{s.color}" '
                   f'stroke-width="3"{f" stroke-dasharray={chr(34)}{s.dash}{chr(34)}" if s.dash else ""}/>')
        out.append(f'<text x="{_fmt(legend_x + 27)}" y="18" fill="#111">{escape(s.name)}</text>')
        legend_x += 40 + len(s.name) * 7.2
    for tick in range(0, 101, 20):
        y = top + plot_h * (1 - tick / 100)
        out.append(f'<line x1="{_fmt(left)}" y1="{_fmt(y)}" x2="{_fmt(left + plot_w)}" y2="{_fmt(y)}" '
                   f'stroke="#c8ced6" stroke-width="1"/>')
        out.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end" fill="#3b4450">'
                   f'{escape(vi_decimal(Decimal(scale * tick / 100), 0))}{escape(unit)}</text>')
    for i, category in enumerate(categories):
        out.append(f'<text x="{_fmt(left + (i + 0.5) * step)}" y="{_fmt(height - 10)}" text-anchor="middle" '
                   f'fill="#3b4450">{escape(category)}</text>')
    for s in series:
        points = [(left + (i + 0.5) * step, top + plot_h * (1 - min(float(v), scale) / scale), v)
                  for i, v in enumerate(s.values) if v is not None]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((left + (i + 0.5) * step, top + plot_h * (1 - min(float(v), scale) / scale)))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in run)
                out.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2.5"{dash}/>')
        for x, y, v in points:
            out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="4" fill="{s.color}">'
                       f"<title>{escape(s.name)}: {escape(vi_decimal(v))}{escape(unit)}</title></circle>")
    out.append(f'<line x1="{_fmt(left)}" y1="{_fmt(top + plot_h)}" x2="{_fmt(left + plot_w)}" '
               f'y2="{_fmt(top + plot_h)}" stroke="#111" stroke-width="1"/>')
    out.append("</svg>")
    return "".join(out)
