"""A ring drawn as an SVG picture on the server (no script, no CDN): people on a circle, customers
as circles and staff as squares; a referral is an arrow, a signal a coloured line."""
from __future__ import annotations

import math

from markupsafe import Markup, escape

COLOURS = {"cycle": "#c0392b", "staff_customer": "#8e44ad", "shared": "#d35400", "concentration": "#2c3e50",
           "spread": "#16a085", "fact_edit": "#b7950b", "staff_pair": "#7f8c8d", "history": "#e74c3c",
           "referral": "#95a5a6"}
SIZE = 320


def _colour(kinds: set[str]) -> str:
    for kind in COLOURS:
        if kind in kinds and kind != "referral":
            return COLOURS[kind]
    return COLOURS["referral"]


def draw(nodes: dict[str, tuple[str, str]], edges: dict[tuple[str, str], set[str]], title: str,
         test_id: str = "ring-graph", max_nodes: int = 24) -> Markup:
    keys = sorted(nodes, key=lambda k: (nodes[k][1], k))[:max_nodes]
    centre, radius = SIZE / 2, SIZE / 2 - 48
    at = {}
    for index, key in enumerate(keys):
        angle = 2 * math.pi * index / max(1, len(keys)) - math.pi / 2
        at[key] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" '
             f'height="{SIZE}" role="img" data-test="{escape(test_id)}"><title>{escape(title)}</title>',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="16" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for (a, b), kinds in sorted(edges.items()):
        if a not in at or b not in at:
            continue
        (x1, y1), (x2, y2) = at[a], at[b]
        arrow = ' marker-end="url(#arrow)"' if "referral" in kinds else ' stroke-dasharray="4 3"'
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{_colour(kinds)}" '
                     f'stroke-width="2"{arrow}/>')
    for key in keys:
        (x, y), (label, kind) = at[key], nodes[key]
        shape = (f'<rect x="{x - 9:.1f}" y="{y - 9:.1f}" width="18" height="18" fill="#fdebd0" stroke="#555"/>'
                 if kind == "staff" else f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="#d6eaf8" stroke="#555"/>')
        parts.append(shape + f'<text x="{x:.1f}" y="{y + 24:.1f}" font-size="12" text-anchor="middle">'
                             f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
