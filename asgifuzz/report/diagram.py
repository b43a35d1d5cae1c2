"""A message trace drawn as a sequence diagram (inline SVG, for the HTML report).

One lane per party -- the client, the server, the app as the server calls it
(its outermost layer), each middleware layer below it (``LayerTrace``'s
``depth:Name`` labels), the endpoint -- and one row per trace event, in
order: every message as an arrow from the lane that handed it on to the one
that got it, everything else (the app returned or raised, the endpoint saw
the disconnect, the clock moved) as a note on its lane.  A layer that passed
on a message different from the one it was handed is drawn in orange: that
is where a middleware altered, dropped or made up a message.  The point
where the invariant broke is a red rule across the lanes.

Pure string building: no JavaScript, no external resources, so the file
opens anywhere and shows the same thing offline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asgifuzz._finding import TraceEvent

__all__ = ("Lane", "Row", "lanes_of", "rows_of", "sequence_svg")

_LANE_GAP = 180
_LEFT = 96
_TOP = 64
_ROW = 28
_CHAR = 6.4  # average width of one character at the 11px font, for truncating labels
#: Events drawn; a longer trace keeps its first and last ones with a gap row between.
MAX_ROWS = 400


@dataclass(frozen=True, slots=True)
class Lane:
    key: str
    title: str
    subtitle: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One drawn row: an arrow (``source`` -> ``target``) or a note (``source`` == ``target``)."""

    seq: int
    time: float
    source: str
    target: str
    label: str
    #: The whole message, shown as the row's tooltip.
    full: str
    #: "client", "server", "app", "layer", "altered", "gone", "disconnect", "note", "raised", "broke", "gap"
    style: str


def _layer_depths(trace: Sequence[TraceEvent]) -> dict[int, str]:
    depths: dict[int, str] = {}
    for e in trace:
        if e.actor == "layer":
            depth, _, name = e.detail.partition(":")
            if depth.isdigit():
                depths[int(depth)] = name
    return depths


def lanes_of(trace: Sequence[TraceEvent], *, endpoint: str = "") -> list[Lane]:
    """The lanes the trace needs, outermost first: client, server, app, its layers, the endpoint."""
    depths = _layer_depths(trace)
    lanes = [Lane("client", "client"), Lane("server", "server", "asgifuzz")]
    lanes.append(Lane("app", "app", "outermost layer" if depths else "the ASGI app"))
    lanes += [Lane(f"layer{d}", depths[d], f"layer {d}") for d in sorted(depths)]
    if depths or endpoint or any(e.actor == "endpoint" for e in trace):
        lanes.append(Lane("endpoint", endpoint or "endpoint", "innermost"))
    return lanes


def short_message(message: dict[str, Any] | None) -> str:
    """``http.response.start 200``, ``http.request 12 B more``: what a reader needs on an arrow."""
    if not message:
        return ""
    kind = str(message.get("type", "?"))
    parts = [kind]
    if "status" in message:
        parts.append(str(message["status"]))
    for key in ("body", "bytes", "text"):
        value = message.get(key)
        if isinstance(value, bytes | str) and (value or key == "body"):
            parts.append(f"{len(value)} B" if isinstance(value, bytes) else f"{len(value)} chars")
    if message.get("more_body"):
        parts.append("more")
    if "code" in message and kind.endswith(("close", "disconnect")):
        parts.append(f"code {message['code']}")
    return " ".join(parts)


def full_message(message: dict[str, Any] | None) -> str:
    if not message:
        return ""
    items = []
    for k, v in message.items():
        if isinstance(v, bytes) and len(v) > 200:
            v = v[:200] + b"..."
        items.append(f"{k}={v!r}")
    return "{" + ", ".join(items) + "}"


def _lane_key(e: TraceEvent, depths: dict[int, str]) -> tuple[str, str]:
    """(source, target) lanes of an event."""
    actor, kind = e.actor, e.kind
    if actor == "client":
        return "client", "server"
    if actor == "server" and kind == "time":
        return "server", "server"
    if actor == "server":
        return "server", "app"
    if actor == "layer":
        depth = int(e.detail.partition(":")[0] or 0)
        outer = f"layer{depth - 1}" if depth - 1 in depths else "app"
        inner = f"layer{depth}"
        return (outer, inner) if kind == "receive" else (inner, outer)
    if actor == "app" and e.message is not None:
        return "app", "server"
    if actor == "endpoint":
        return "endpoint", "endpoint"
    if actor == "asgifuzz":
        return "server", "server"
    return "app", "app"


def _row_of(e: TraceEvent, depths: dict[int, str], altered: bool) -> Row:
    source, target = _lane_key(e, depths)
    text = short_message(e.message)
    full = full_message(e.message)
    style: str = e.actor
    if e.actor == "client":
        text = {"disconnect": "disconnect", "chunk": f"sends {e.detail}"}.get(e.kind, f"{e.kind} {e.detail}".strip())
        style = "disconnect" if e.kind in ("disconnect", "close") else "client"
        full = f"client {e.kind} {e.detail}".strip() + (f" {full}" if full else "")
    elif e.kind == "call":
        text, full = f"app(scope) {e.detail}", f"the server calls the app for {e.detail}"
    elif e.actor == "server" and e.kind == "time":
        text, style = f"clock {e.detail}", "note"
    elif e.actor == "asgifuzz":
        text, style = e.detail, ("broke" if e.kind == "finding" else "note")
    elif source == target:
        text = e.kind if e.detail in ("", e.kind) else f"{e.kind} {e.detail}"
        style = "raised" if e.kind in ("raised", "hung") else "note"
    if e.actor == "app" and e.detail == "client gone":
        style, text = "gone", f"{text} (client gone)"
    if e.actor in ("layer", "app") and altered:
        style = "altered"
    if e.actor == "layer":
        full = f"{'received' if e.kind == 'receive' else 'sent'} by layer {e.detail}: {full}"
    return Row(e.seq, e.time, source, target, text, full or text, style)


def _lane_depth(e: TraceEvent) -> int | None:
    """The depth of the lane that handled a message: 0 the app as the server sees it, d a layer."""
    if e.actor == "layer":
        depth = e.detail.partition(":")[0]
        return int(depth) if depth.isdigit() else None
    if (e.actor, e.kind) in (("server", "receive"), ("app", "send")):
        return 0
    return None


def _altered(trace: Sequence[TraceEvent]) -> set[int]:
    """Layer messages (and the app's sends) that differ from the one the neighbouring lane handled.

    The k-th message a layer received is compared with the k-th its outer
    neighbour received (the server's receive for layer 1); the k-th message
    a lane sent with the k-th its inner neighbour sent.  One with no
    counterpart was made up (or its counterpart was dropped).
    """
    depths = _layer_depths(trace)
    handled: dict[tuple[str, int], list[object]] = {}
    out: set[int] = set()
    for e in trace:
        depth = _lane_depth(e)
        if depth is None or not depths:
            continue
        direction = "receive" if e.kind == "receive" else "send"
        mine = handled.setdefault((direction, depth), [])
        neighbour = depth - 1 if direction == "receive" else depth + 1
        if neighbour in depths or neighbour == 0:
            theirs = handled.get((direction, neighbour), [])
            if len(mine) >= len(theirs) or theirs[len(mine)] != e.message:
                out.add(e.seq)
        mine.append(e.message)
    return out


def rows_of(trace: Sequence[TraceEvent]) -> list[Row]:
    """One row per event; messages that differ from what the lane was handed are "altered"."""
    depths = _layer_depths(trace)
    altered = _altered(trace)
    rows = [_row_of(e, depths, e.seq in altered) for e in trace]
    if len(rows) > MAX_ROWS:
        head, tail = rows[:100], rows[-(MAX_ROWS - 100) :]
        gap = Row(-1, tail[0].time, "client", "client", f"... {len(rows) - MAX_ROWS} more event(s) ...", "", "gap")
        rows = [*head, gap, *tail]
    return rows


_COLORS = {
    "client": "#1f6feb",
    "server": "#1a7f37",
    "app": "#8250df",
    "layer": "#6e7781",
    "altered": "#d4760a",
    "gone": "#8250df",
    "disconnect": "#cf222e",
    "note": "#57606a",
    "raised": "#cf222e",
    "endpoint": "#57606a",
    "broke": "#cf222e",
    "gap": "#57606a",
}


def _fit(text: str, width: float) -> str:
    room = max(4, int(width / _CHAR))
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def _arrow(x1: float, x2: float, y: float, row: Row, color: str, *, dashed: bool) -> list[str]:
    head = 7 if x2 > x1 else -7
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    label = _fit(row.label, abs(x2 - x1) - 8)
    mid = (x1 + x2) / 2
    return [
        f'<line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2 - head:.0f}" y2="{y:.0f}" stroke="{color}" stroke-width="1.6"{dash}/>',
        f'<polygon points="{x2:.0f},{y:.0f} {x2 - head:.0f},{y - 4:.0f} {x2 - head:.0f},{y + 4:.0f}" fill="{color}"/>',
        f'<text x="{mid:.0f}" y="{y - 5:.0f}" text-anchor="middle" class="msg" fill="{color}">{html.escape(label)}</text>',
    ]


def _note(x: float, y: float, row: Row, color: str, width: float) -> list[str]:
    label = _fit(row.label, width - 10)
    w = min(width, len(label) * _CHAR + 12)
    return [
        f'<rect x="{x - w / 2:.0f}" y="{y - 11:.0f}" width="{w:.0f}" height="18" rx="4" fill="#fff" stroke="{color}"/>',
        f'<text x="{x:.0f}" y="{y + 2:.0f}" text-anchor="middle" class="note" fill="{color}">{html.escape(label)}</text>',
    ]


def _row_svg(row: Row, y: float, x: dict[str, float], width: float, highlight: bool) -> list[str]:
    color = _COLORS.get(row.style, "#24292f")
    out = [f'<g class="row {row.style}" data-seq="{row.seq}"><title>{html.escape(row.full)}</title>']
    if highlight:
        out.append(f'<rect x="2" y="{y - 13:.0f}" width="{width - 4:.0f}" height="{_ROW - 2}" fill="#ffebe9" rx="3"/>')
    if row.style in ("broke", "gap"):
        out.append(
            f'<line x1="{_LEFT - 8}" y1="{y:.0f}" x2="{width - 8:.0f}" y2="{y:.0f}" stroke="{color}" stroke-width="2"'
            + (' stroke-dasharray="2 4"' if row.style == "gap" else "")
            + "/>"
        )
        label = _fit(row.label, width - _LEFT)
        out.append(
            f'<text x="{_LEFT:.0f}" y="{y - 5:.0f}" class="broke" fill="{color}">{html.escape(label)}</text>'
        )
    else:
        if row.seq >= 0:
            out.append(f'<text x="6" y="{y + 4:.0f}" class="seq">{row.seq:>3}  t={row.time:.3f}</text>')
        x1, x2 = x.get(row.source, x["app"]), x.get(row.target, x["app"])
        if x1 == x2:
            out += _note(x1, y, row, color, _LANE_GAP - 6)
        else:
            out += _arrow(x1, x2, y, row, color, dashed=row.style in ("disconnect", "gone"))
    out.append("</g>")
    return out


def sequence_svg(
    trace: Sequence[TraceEvent],
    *,
    endpoint: str = "",
    broke: str | None = None,
    highlight: frozenset[int] = frozenset(),
    css_class: str = "sequence",
) -> str:
    """The trace as an inline ``<svg>`` sequence diagram.

    ``broke``: the finding, drawn as a red rule after the last event when
    the trace has no ``finding`` event of its own (transparency findings
    break in the comparison, after the run).  ``highlight``: sequence
    numbers to shade (the bare run's events the stack run lacks).
    """
    lanes = lanes_of(trace, endpoint=endpoint)
    rows = rows_of(trace)
    if broke is not None and not any(r.style == "broke" for r in rows):
        last = rows[-1].time if rows else 0.0
        rows.append(Row(-1, last, "client", "client", f"\u2716 broke here: {broke}", broke, "broke"))
    x = {lane.key: _LEFT + _LANE_GAP / 2 + i * _LANE_GAP for i, lane in enumerate(lanes)}
    width = _LEFT + len(lanes) * _LANE_GAP + 8
    height = _TOP + len(rows) * _ROW + 16
    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="sequence diagram">')
    ]
    for lane in lanes:
        cx = x[lane.key]
        out.append(f'<g class="lane" data-lane="{html.escape(lane.key)}">')
        out.append(
            f'<line x1="{cx:.0f}" y1="{_TOP - 12}" x2="{cx:.0f}" y2="{height - 8:.0f}" stroke="#d0d7de" stroke-width="1.2"/>'
        )
        out.append(
            f'<rect x="{cx - _LANE_GAP / 2 + 6:.0f}" y="6" width="{_LANE_GAP - 12}" height="40" rx="6" '
            'fill="#f6f8fa" stroke="#8c959f"/>'
        )
        title = _fit(lane.title, _LANE_GAP - 20)
        out.append(f'<text x="{cx:.0f}" y="24" text-anchor="middle" class="lane-title">{html.escape(title)}</text>')
        if lane.subtitle:
            out.append(f'<text x="{cx:.0f}" y="39" text-anchor="middle" class="lane-sub">{html.escape(lane.subtitle)}</text>')
        out.append(f"<title>{html.escape(lane.title)}</title></g>")
    for i, row in enumerate(rows):
        y = _TOP + 10 + i * _ROW
        out += _row_svg(row, y, x, width, row.seq in highlight)
    out.append("</svg>")
    return "\n".join(out)
