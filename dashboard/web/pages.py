"""HTML pages: room screens, lobby overview, chair console, staff desk, access links.

The pages are thin shells: the server checks who may open them and renders
the labels in the reader's language(s); the browser modules in ``static/js``
subscribe over Socket.IO and draw the live state with ``textContent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import segno
from flask import Blueprint, Response, render_template, request
from flask_babel import force_locale, get_locale, lazy_gettext as _l
from markupsafe import Markup

from dashboard.domain.roles import Role
from dashboard.web.access import access_links, allow, current_principal, landing
from dashboard.web.services import services

bp = Blueprint("pages", __name__)

LOCALES = ("es", "en")
SCREEN_LANGS = ("both", "es", "en")
LANG_COOKIE = "plenary_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

ROLE_LABELS: dict[str, Any] = {
    Role.ADMIN: _l("Administrator"),
    Role.CHAIR: _l("Chair"),
    Role.STAFF: _l("Secretariat staff"),
    Role.SCREEN: _l("Screen"),
    Role.DELEGATION: _l("Delegation"),
}

# Strings shared by every live page (screens, overview, chair, staff).
COMMON_STRINGS = {
    "status.scheduled": _l("Scheduled"),
    "status.open": _l("In session"),
    "status.suspended": _l("Suspended"),
    "status.closed": _l("Closed"),
    "status.none": _l("No sitting in progress"),
    "suspended_until": _l("Suspended until {time}"),
    "next_sitting": _l("Next sitting: {title}, {time}"),
    "next_sitting_no_time": _l("Next sitting: {title}"),
    "kind.speech": _l("Speech"),
    "kind.point_of_order": _l("Point of order"),
    "kind.reply": _l("Right of reply"),
    "clock.warning": _l("Time almost up"),
    "clock.overrun": _l("Overrun"),
    "clock.paused": _l("Paused"),
    "clock.elapsed": _l("Elapsed"),
    "clock.budget_out": _l("Delegation's time used up"),
    "floor.empty": _l("Nobody has the floor"),
    "queue.empty": _l("No one is waiting to speak"),
    "queue.more": _l("+ {n} more"),
    "queue.count": _l("{n} waiting"),
    "list.closed": _l("List closed"),
    "conn.reconnecting": _l("Reconnecting — last update {time}"),
    "conn.connecting": _l("Connecting…"),
    "conn.denied": _l(
        "This access is no longer valid: open the access link again or ask the secretariat."
    ),
    "conn.unknown_room": _l("This room is not in the programme."),
    "announce.urgent": _l("Urgent"),
    "announce.info": _l("Information"),
    "announce.only_in": _l("Only in {rooms}:"),
    "clock.of": _l("of {limit}"),
    "preview.floor": _l("Has the floor"),
    "resumes_in": _l("in {time}"),
    "resumes_at": _l("Resumes at {time}"),
    "sitting_suspended": _l("Sitting suspended"),
    "next_label": _l("Next"),
    "time_of_day": _l("Time"),
    "about.on_behalf": _l("on behalf of {group}"),
    "about.named_on_behalf": _l("{name}, on behalf of {group}"),
    "about.lang.es": _l("speaks Spanish"),
    "about.lang.en": _l("speaks English"),
    "about.lang.pt": _l("speaks Portuguese"),
    "about.lang.fr": _l("speaks French"),
    "forecast.at": _l("List ends ≈ {time}"),
    "forecast.after": _l("List ends ≈ {time}, {min} min after the scheduled end"),
    "forecast.before": _l("List ends ≈ {time}, {min} min before the scheduled end"),
}

CHAIR_STRINGS = {
    "confirm.close_sitting": _l("Close the sitting? It cannot be reopened."),
    "confirm.close_ok": _l("Close the sitting"),
    "confirm.close_waiting": _l("Still on the list of speakers, not to be heard: {n}."),
    "confirm.start_title": _l("Give the floor to {name} now?"),
    "confirm.start_text": _l("Out of turn: number {position} on the list."),
    "confirm.start_ends": _l("The speech of {name} ends."),
    "next.named": _l("Next: {name} — {kind}"),
    "next.end_only": _l("End the speech of {name} (no one is waiting)"),
    "next.nobody": _l("No one is waiting"),
    "floor.stop_named": _l("End the speech of {name}"),
    "floor.pause_named": _l("Pause the clock of {name}"),
    "floor.resume_named": _l("Resume the clock of {name}"),
    "floor.extend30_named": _l("Give {name} 30 more seconds"),
    "floor.extend60_named": _l("Give {name} one more minute"),
    "floor.announce": _l("{name} has the floor."),
    "screen.urgent": _l("The room's screen shows an URGENT notice: {text}"),
    "offline.since": _l(
        "Not connected since {time}: commands are disabled until the connection is back."
    ),
    "offline.connecting": _l("Connecting: commands are disabled until the connection is up."),
    "offline.denied": _l("This access is no longer valid: commands are disabled."),
    "queue.drag": _l("Drag to reorder"),
    "queue.start_named": _l("Give the floor to {name}"),
    "queue.up_named": _l("Move {name} up"),
    "queue.down_named": _l("Move {name} down"),
    "queue.position": _l("Position"),
    "queue.position_named": _l("Move {name} to position…"),
    "queue.position_label": _l("New position (1 to {n})"),
    "queue.move": _l("Move"),
    "queue.remove_named": _l("Remove {name} from the list"),
    "suspend.bad_time": _l("Write the time as hh:mm (24 h), e.g. 16:30."),
    "timer.pause": _l("Pause clock"),
    "timer.resume": _l("Resume clock"),
    "list.close": _l("Close list"),
    "list.reopen": _l("Reopen list"),
    "picker.none": _l("No delegation matches"),
    "picker.choose": _l("Choose a delegation from the list first."),
    "queue.up": _l("Move up"),
    "queue.down": _l("Move down"),
    "queue.remove": _l("Remove"),
    "queue.start": _l("Give the floor"),
    "done": _l("Done."),
    "sitting.option": _l("{title} ({time})"),
    "error.stale": _l(
        "The room changed meanwhile (a double press or another chair). "
        "Nothing was done: check the list and try again."
    ),
    "error.conflict": _l("Not possible in the current state of the room."),
    "error.conflict.speaker.add": _l(
        "Not added: this delegation is already waiting with that kind, "
        "or the list is closed to new speeches."
    ),
    "error.conflict.session": _l("The sitting cannot move to that status from its current one."),
    "error.conflict.no_sitting": _l("There is no sitting in progress: open or resume it first."),
    "error.conflict.suspended": _l(
        "The sitting is suspended: resume it to give the floor or run the clock."),
    "error.conflict.speaker.next": _l("There is no one waiting to speak."),
    "error.conflict.timer": _l("No speech is running."),
    "error.conflict.speaker.undo": _l(
        "Nothing to undo: only the last change to the list can be undone, once, "
        "within 2 minutes."
    ),
    "desk.accept": _l("Accept"),
    "desk.decline": _l("Decline"),
    "desk.accept_named": _l("Accept the request of {name}"),
    "desk.decline_named": _l("Decline the request of {name}"),
    "desk.reason_prompt": _l("Reason shown to the delegation (optional)"),
    "desk.no_item": _l("— No item —"),
    "undo.ordered": _l("Undo: protocol order"),
    "undo.none": _l("Undo"),
    "undo.floor_given": _l("Undo: {name} given the floor"),
    "undo.speech_ended": _l("Undo: end of the speech of {name}"),
    "undo.removed": _l("Undo: {name} removed"),
    "undo.moved": _l("Undo: {name} moved"),
    "undo.added": _l("Undo: {name} added"),
    "error.invalid": _l("The request was not valid: {field}."),
    "error.not_found": _l("Not found: it may have been removed meanwhile."),
    "error.forbidden": _l("Your access does not allow this."),
    "error.unauthorized": _l("Your access has expired: open your access link again."),
    "error.rate_limited": _l("Too many requests: wait a moment and try again."),
    "error.offline": _l("Not connected: the command was not sent. Wait for the connection."),
    "error.timeout": _l("No answer from the server: check the state before trying again."),
    "error.unknown": _l("Refused: {message}"),
}

# What every desk says of a refused command, in the chair console's words.
ERROR_STRINGS = {key: CHAIR_STRINGS[key] for key in (
    "error.stale", "error.conflict", "error.invalid", "error.not_found", "error.forbidden",
    "error.unauthorized", "error.rate_limited", "error.offline", "error.timeout",
    "error.unknown")}

STAFF_STRINGS = {
    "staff.posted": _l("Announcement posted."),
    "staff.retracted": _l("Announcement retracted."),
    "staff.none": _l("No active announcements."),
    "staff.retract": _l("Retract"),
    "staff.confirm_retract": _l("Retract this announcement from every screen?"),
    "staff.rooms_all": _l("All rooms"),
    "staff.expires": _l("Expires {time}"),
    "staff.no_expiry": _l("No expiry"),
    "staff.posted_at": _l("Posted {time}"),
    "staff.need_text": _l("Write the announcement in Spanish and in English."),
    "staff.need_rooms": _l("Choose at least one room."),
    "staff.bad_expiry": _l("The expiry must be a time in the future."),
    "staff.meeting_time": _l("meeting time, {tz}"),
    "staff.no_sitting": _l("No sitting is in progress in the chosen rooms: choose another expiry."),
    "staff.bad_time": _l("Write the time as hh:mm (24 h), e.g. 16:30."),
    "staff.hides_at": _l("Hides {time}"),
    "staff.urgent_summary": _l("URGENT · takes over the whole screen · {n} rooms: {rooms}"),
    "staff.urgent_summary_one": _l("URGENT · takes over the whole screen · 1 room: {rooms}"),
    "staff.posted_urgent": _l("Urgent announcement posted to {n} rooms: {rooms}."),
    "staff.posted_urgent_one": _l("Urgent announcement posted to 1 room: {rooms}."),
    "staff.posted_where": _l("Announcement posted to {n} rooms: {rooms}."),
    "staff.posted_where_one": _l("Announcement posted to 1 room: {rooms}."),
    "staff.need_target": _l("Choose where to show it: chosen rooms, one venue or all rooms."),
    "staff.fill_placeholders": _l("Replace the parts in [brackets] in both texts first."),
    "staff.retract_named": _l("Retract “{text}”"),
    "offline.since": CHAIR_STRINGS["offline.since"],
    "offline.connecting": CHAIR_STRINGS["offline.connecting"],
    "offline.denied": CHAIR_STRINGS["offline.denied"],
    **ERROR_STRINGS,
}

DELEGATION_STRINGS = {
    "dl.rooms": _l("Rooms"),
    "dl.mine": _l("My requests and places"),
    "dl.none": _l("You have no request and no place on a list."),
    "dl.floor": _l("Has the floor: {name}"),
    "dl.no_floor": _l("Nobody has the floor"),
    "dl.no_sitting": _l("No sitting in progress"),
    "dl.position": _l("Number {n} on the list"),
    "dl.eta": _l("≈ {min} min until your turn"),
    "dl.eta_now": _l("Your turn is next"),
    "dl.prepared": _l("On the list prepared for {title}"),
    "dl.pending": _l("Waiting for the chair to accept it"),
    "dl.declined": _l("Declined by the chair"),
    "dl.reason": _l("Reason: {reason}"),
    "dl.withdraw": _l("Withdraw"),
    "dl.withdrawn": _l("Withdrawn."),
    "dl.sent_direct": _l("You are on the list."),
    "dl.sent_approval": _l("Request sent: the chair will accept or decline it."),
    "dl.own": _l("On our own behalf"),
    "dl.level_any": _l("(not given)"),
    "dl.on_behalf": _l("{name}, on behalf of {group}"),
    "error.conflict.request": _l(
        "Not possible now: you may already be waiting with that kind, the list may be "
        "closed to new speeches, or no sitting is in progress or scheduled in that room."
    ),
    **ERROR_STRINGS,
}

# Labels drawn by the screen templates in one or both languages.
SCREEN_LABELS = {
    "has_floor": _l("Has the floor"),
    "next_speakers": _l("Next speakers"),
    "announcements": _l("Announcements"),
    "rooms": _l("Rooms"),
    "overview": _l("All rooms"),
    "time_of_day": _l("Time of day"),
}


def catalogue(strings: Mapping[str, Any], locales: Iterable[str]) -> dict[str, dict[str, str]]:
    """Render lazy strings once per locale, for the browser code."""
    out: dict[str, dict[str, str]] = {}
    for locale in locales:
        with force_locale(locale):
            out[locale] = {key: str(value) for key, value in strings.items()}
    return out


def _screen_langs() -> tuple[str, list[str]]:
    lang = request.args.get("lang", "both")
    if lang not in SCREEN_LANGS:
        lang = "both"
    return lang, (list(LOCALES) if lang == "both" else [lang])


def no_access(status: int) -> tuple[str, int]:
    """The page that says this page opens with an access link (401) or another one (403),
    or that the meeting has no room at this address (404)."""
    reason = {401: "missing", 403: "wrong"}.get(status, "unknown")
    texts = catalogue(
        {
            "title": _l("No such room") if reason == "unknown" else _l("Access needed"),
            "unknown": _l(
                "This meeting has no room at this address. Open the page again from the "
                "link you were given."
            ),
            "missing": _l(
                "This page opens with an access link. Open the link or scan the QR code "
                "you were given for this screen, console or desk."
            ),
            "wrong": _l(
                "Your access link is for another page. Open the link you were given for this one."
            ),
            "ask": _l("If you do not have one, ask the meeting secretariat."),
        },
        LOCALES,
    )
    return render_template("no_access.html", texts=texts, reason=reason), status


def _live_page(template: str, page: str, strings: Mapping[str, Any], **data: Any) -> str:
    lang, langs = (_screen_langs() if page in ("screen", "overview", "podium", "chyron")
                   else (None, None))
    locale = str(get_locale() or LOCALES[0])
    if langs is None:
        langs = [locale]
        lang = locale
    page_data = {
        "page": page,
        "lang": lang,
        "langs": langs,
        "locale": locale,
        "strings": catalogue({**COMMON_STRINGS, **strings}, langs),
        **data,
    }
    labels = catalogue(SCREEN_LABELS, langs)
    rooms = services().meeting.programme.rooms_by_id
    named = rooms.get(data.get("room", ""))
    room_title = named.name.as_dict().get(langs[0], named.id) if named else None
    return render_template(
        template, page_data=page_data, langs=langs, labels=labels, html_lang=langs[0],
        room_title=room_title, **data,
    )


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {"html_lang": str(get_locale() or LOCALES[0]), "page_data": None}


@bp.after_request
def _remember_language(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked in LOCALES and request.endpoint not in (
            "pages.screen", "pages.overview", "pages.podium", "pages.chyron"):
        response.set_cookie(
            LANG_COOKIE, asked, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", httponly=True
        )
    return response


@bp.get("/")
def index() -> str:
    """The front door: who you are and where your page is, or how to get access."""
    principal = current_principal()
    invalid = request.args.get("invalid") is not None
    if principal is None:
        return render_template("landing.html", principal=None, invalid=invalid)
    return render_template(
        "landing.html",
        principal=principal,
        invalid=invalid,
        home=landing(principal),
        role_label=ROLE_LABELS.get(principal.role, principal.role),
    )


@bp.get("/screen/<room>")
@allow(room_arg="room")
def screen(room: str) -> Any:
    """A room's screen: floor, clock, next speakers and announcements, live."""
    return _live_page("screen.html", "screen", {}, room=room)


@bp.get("/podium/<room>")
@allow(Role.SCREEN, Role.CHAIR, Role.ADMIN, room_arg="room")
def podium(room: str) -> Any:
    """The speaker's own monitor: a large clock, the floor, who is next, the chair's message."""
    return _live_page("podium.html", "podium", {}, room=room)


@bp.get("/chyron/<room>")
@allow(Role.SCREEN, Role.CHAIR, Role.ADMIN, room_arg="room")
def chyron(room: str) -> Any:
    """The webcast's lower third (a browser source): who has the floor, on a transparent page."""
    return _live_page("chyron.html", "chyron", {}, room=room)


@bp.get("/overview")
@allow(every_room=True)
def overview() -> Any:
    """The lobby overview: every room at a glance, and the announcements for all."""
    return _live_page("overview.html", "overview", {}, room="*")


@bp.get("/chair/")
@allow(Role.CHAIR, Role.ADMIN, every_room=True)
def chair_index() -> Any:
    """For a chair of every room (or an admin): the list of rooms to chair."""
    return _live_page("chair_index.html", "chair_index", {}, room="*")


@bp.get("/chair/<room>")
@allow(Role.CHAIR, Role.ADMIN, room_arg="room")
def chair(room: str) -> Any:
    """The chair's console for one room."""
    return _live_page("chair.html", "chair", CHAIR_STRINGS, room=room)


@bp.get("/staff")
@allow(Role.STAFF, Role.ADMIN)
def staff() -> Any:
    """The secretariat's announcement desk."""
    return _live_page("staff.html", "staff", STAFF_STRINGS, room="*")


FLEET_STRINGS = {
    "fleet.live": _l("Live"),
    "fleet.behind": _l("Behind"),
    "fleet.silent": _l("Silent"),
    "fleet.gone": _l("Gone"),
    "fleet.identify": _l("Identify"),
    "fleet.reload": _l("Reload"),
    "fleet.rename": _l("Rename"),
    "fleet.rename_prompt": _l("Name of this screen"),
    "fleet.lang": _l("Language"),
    "fleet.lang_both": _l("Both languages"),
    "fleet.room": _l("Room"),
    "fleet.failed": _l("Could not send: {code}"),
    "fleet.unreadable": _l("The list of screens cannot be read now; retrying."),
    "fleet.count": _l("{room}: {n}"),
    "fleet.all_rooms": _l("Overview"),
    "fleet.none": _l("No room"),
    # what each kind of page is, in the Kind column
    "fleet.kind.screen": _l("Room screen"),
    "fleet.kind.overview": _l("Lobby overview"),
    "fleet.kind.podium": _l("Podium monitor"),
    "fleet.kind.chyron": _l("Chyron"),
    "fleet.kind.chair": _l("Chair"),
    "fleet.kind.chair_index": _l("Chair: choosing a room"),
    "fleet.kind.staff": _l("Announcement desk"),
    "fleet.kind.admin": _l("Access links"),
    "fleet.kind.fleet": _l("Screens (this page)"),
    "fleet.kind.delegation": _l("Delegation"),
    "fleet.kind.other": _l("Other page"),
}


@bp.get("/admin/screens")
@allow(Role.ADMIN)
def fleet() -> Any:
    """The control room's fleet: every connected page, its status, and what to ask of it."""
    return _live_page("fleet.html", "fleet", FLEET_STRINGS, room="*")


@bp.get("/delegation")
@allow(Role.DELEGATION)
def delegation() -> Any:
    """A delegation's page (made for a phone): rooms, its places, requesting the floor."""
    who = current_principal()
    code = who.room if who is not None else ""
    programme = services().meeting.programme
    groups = [g.public_dict() for g in programme.groups if code in g.members]
    return _live_page("delegation.html", "delegation", DELEGATION_STRINGS, room="*",
                      delegation=code, groups=groups,
                      levels=[lv.public_dict() for lv in programme.levels])


def qr_svg(url: str) -> Markup:
    """An access link as an inline SVG QR code (paths only: nothing from the URL is echoed)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", svgclass="qr", lineclass="qr-line", omitsize=True
    )
    return Markup(svg)


@bp.get("/admin")
@allow(Role.ADMIN)
def admin() -> Any:
    """The access links, each with its QR code, to print and hand out."""
    rooms = services().meeting.programme.rooms_by_id
    delegations = services().meeting.programme.delegations_by_code
    locale = str(get_locale() or LOCALES[0])
    links = [
        {
            **link,
            "qr": qr_svg(link["url"]),
            "role_label": ROLE_LABELS.get(link["role"], link["role"]),
            "room_name": rooms[link["room"]].name.as_dict()[locale]
            if link["room"] in rooms
            else delegations[link["room"]].name.as_dict()[locale]
            if link["room"] in delegations
            else "",
        }
        for link in access_links()
    ]
    return render_template("admin.html", links=links)
