"""Server-rendered SVG charts (no CDN, no JavaScript): horizontal bars, one per row.

    bar_chart([("SH01 浦东店", 0.8), ("SH02 闵行店", 0.5)], maximum=1, label=percent, title="...")
"""
from __future__ import annotations

from typing import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = ("#0b5394", "#b42318", "#067647", "#b54708", "#6941c6")


def bar_chart(rows: Sequence[tuple[str, float | int | None]], *, title: str, label: Callable = str,
              maximum: float | int | None = None, colour: str = PALETTE[0], test_id: str = "chart") -> Markup:
    """One bar per (name, value); `label` formats the value printed after the bar."""
    width, name_w, bar_w, row_h, top = 640, 200, 340, 26, 30
    values = [v or 0 for _, v in rows]
    top_value = maximum if maximum else max(values + [0]) or 1
    height = top + row_h * max(len(rows), 1) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" data-test="{escape(test_id)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="18" font-size="14" font-weight="600" fill="#1f2933">{escape(title)}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 16}" font-size="12" fill="#616e7c">—</text>')
    for i, (name, value) in enumerate(rows):
        y = top + i * row_h
        length = 0 if not value else max(1, round(bar_w * min(value, top_value) / top_value))
        parts.append(f'<g data-label="{escape(name)}" data-value="{escape(value if value is not None else "")}">'
                     f'<text x="{name_w - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="#1f2933">'
                     f'{escape(name)}</text>'
                     f'<rect x="{name_w}" y="{y + 4}" width="{length}" height="{row_h - 10}" rx="3" fill="{colour}"/>'
                     f'<text x="{name_w + length + 6}" y="{y + 16}" font-size="12" fill="#1f2933">'
                     f'{escape(label(value) if value is not None else "—")}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
