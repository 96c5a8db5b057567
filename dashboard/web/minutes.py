"""The record of speeches: `GET /api/minutes.json|.csv` and the admin page `/admin/minutes`.

Admins and staff read it. The record is the minutes worker's projection
plus whatever the stream holds beyond it, so it is current even while the
worker catches up (or when it does not run).
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import get_locale, gettext as _
from markupsafe import Markup, escape

from dashboard.domain import Programme
from dashboard.domain.roles import Role
from dashboard.store.minutes import as_csv, current_minutes
from dashboard.web.access import allow
from dashboard.web.services import services

bp = Blueprint("minutes", __name__)

READERS = (Role.ADMIN, Role.STAFF)


def _minutes() -> tuple[dict[str, Any], Programme]:
    parts = services()
    programme = parts.meeting.programme
    return current_minutes(parts.log, programme), programme


@bp.get("/api/minutes.json")
@allow(*READERS)
def minutes_json() -> Any:
    """An admin or staff member reads the record: speeches, requests never served, totals."""
    minutes, _programme = _minutes()
    return jsonify(minutes)


@bp.get("/api/minutes.csv")
@allow(*READERS)
def minutes_csv() -> Any:
    """An admin or staff member downloads the record as CSV (one row per speech or request)."""
    minutes, programme = _minutes()
    name = f"minutes-{programme.meeting.id}.csv"
    return Response(
        as_csv(minutes, programme),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def clock(seconds: float) -> str:
    """Seconds as h:mm:ss or m:ss."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def speaking_chart(delegations: list[dict[str, Any]], locale: str, title: str) -> Markup:
    """A horizontal bar chart of speaking time per delegation, as inline SVG (escaped text,
    presentation attributes only: no script, no style, nothing fetched)."""
    rows = [d for d in delegations if d["speeches"]]
    # Each name above its bar, across the whole width, wrapped between words where it is
    # longer than a line: never cut, and the chart scales to a phone or an A4 page whole.
    line_h, bar_h, gap, width, value_w, font = 20, 18, 12, 480, 64, 15
    per_line = int(width / (font * 0.62))  # a safe bound on the characters a line holds
    bar_w = width - value_w
    longest = max((d["spoken_s"] for d in rows), default=0.0) or 1.0
    body: list[str] = []
    y = 4
    for d in rows:
        name = (d["name"] or {}).get(locale) or d["code"] or "?"
        lines = textwrap.wrap(f'{d["code"] or ""} · {name}', per_line, break_long_words=False)
        body.append(
            f'<text class="chart-label" font-size="{font}" fill="#111418">'
            + "".join(
                f'<tspan x="0" y="{y + (i + 1) * line_h - 5}">{escape(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            + "</text>"
        )
        top = y + len(lines) * line_h
        length = max(1.0, bar_w * d["spoken_s"] / longest)
        overrun = min(length, bar_w * d["overrun_s"] / longest)
        body.append(
            f'<rect x="0" y="{top}" width="{length:.1f}" height="{bar_h}" fill="#0a4a8c">'
            f'<title>{escape(name)}: {clock(d["spoken_s"])}</title></rect>'
        )
        if overrun > 0:
            body.append(
                f'<rect x="{length - overrun:.1f}" y="{top}" width="{overrun:.1f}" '
                f'height="{bar_h}" fill="#9e0000" fill-opacity="0.85"/>'
            )
        body.append(
            f'<text class="chart-value" x="{length + 6:.1f}" y="{top + bar_h - 4}" '
            f'font-size="{font}" fill="#111418" font-variant-numeric="tabular-nums">'
            f'{clock(d["spoken_s"])}</text>'
        )
        y = top + bar_h + gap
    height = max(y, 24)
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="minutes-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    return Markup("".join([*head, *body, "</svg>"]))


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {"html_lang": str(get_locale() or "es"), "page_data": None}


@bp.get("/admin/minutes")
@allow(*READERS)
def minutes_page() -> Any:
    """An admin or staff member reads the record, with speaking time per delegation charted."""
    minutes, programme = _minutes()
    locale = str(get_locale() or "es")

    def local(at: float | None) -> str:
        return datetime.fromtimestamp(at, programme.tz).strftime("%d/%m %H:%M:%S") if at else ""

    chart = speaking_chart(minutes["totals"]["delegations"], locale,
                           _("Speaking time per delegation"))
    names = {d.code: d.name.as_dict().get(locale, d.code) for d in programme.delegations}
    rooms = {r.id: r.name.as_dict().get(locale, r.id) for r in programme.rooms}
    groups = {g.code: g.name.as_dict().get(locale, g.code) for g in programme.groups}

    def speaker(row: dict[str, Any]) -> str:
        """"BRB · Barbados", or "BRB · Barbados, on behalf of …" for a group statement."""
        code = row.get("delegation") or ""
        name = f"{code} · {names.get(code, code)}"
        group = row.get("on_behalf_of")
        if not group:
            return name
        # The screens' msgid (dashboard/web/pages.py): one translation for both.
        return _("{name}, on behalf of {group}").format(name=name,
                                                        group=groups.get(group, group))

    return render_template(
        "minutes.html", minutes=minutes, chart=chart, clock=clock, local=local, names=names,
        rooms=rooms, locale=locale, lang=request.args.get("lang"),
        timezone=programme.meeting.timezone,
        title=programme.meeting.title.as_dict().get(locale, ""),
        by_item=speeches_by_item(minutes, programme, locale), speaker=speaker,
    )


def speeches_by_item(minutes: dict[str, Any], programme: Programme,
                     locale: str) -> list[dict[str, Any]]:
    """The speeches grouped as `totals.items` groups them (by sitting and agenda item, in
    the order of each group's first speech), each group with its headings in `locale`."""
    rows: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in minutes["speeches"]:
        rows.setdefault((row["session_id"] or "", row.get("item_id")), []).append(row)
    groups = []
    for group in minutes["totals"]["items"]:
        sitting = programme.sessions_by_id.get(group["session_id"] or "")
        groups.append({
            **group,
            "sitting_title": sitting.title.as_dict().get(locale, sitting.id) if sitting
            else group["session_id"] or "",
            "item_title": (group["title"] or {}).get(locale) if group["item_id"] else None,
            # A sitting with an agenda: its speeches before the first item, or between.
            "outside_items": bool(sitting and sitting.items) and not group["item_id"],
            "rows": rows.get((group["session_id"] or "", group["item_id"]), []),
        })
    return groups
