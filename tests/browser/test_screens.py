"""Room screens: they recover alone from an outage, and fit any display without overflow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.support import LiveServer

ROOM, SITTING = "plenario", "plenaria"
LONG_QUEUE = ["VCT", "IDB", "DOM", "TTO", "ATG", "USA", "COL"]
SIZES = [(1920, 1080), (3840, 2160), (1080, 1920)]


def test_screen_says_it_is_reconnecting_and_recovers_without_reload(
    open_page: Any, admin: Any, live_server: LiveServer
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="PAN")
    screen = open_page("screen", ROOM, "", viewport=(1920, 1080))
    screen.wait_live()
    screen.page.evaluate("window.__sameDocument = true")
    assert screen.page.is_hidden("#conn")

    live_server.stop()
    stopped = time.monotonic()
    screen.page.wait_for_selector("#conn:not([hidden])", timeout=5000)
    assert time.monotonic() - stopped <= 5.0
    mark = screen.text("#conn")
    assert "Reconectando" in mark and "Reconnecting" in mark, mark
    assert any(ch.isdigit() for ch in mark)  # the time of the last update

    live_server.start()
    admin("speaker.next", room=ROOM)  # the state moves on while the screen is away
    screen.page.wait_for_function(
        "document.getElementById('floor-name').textContent.includes('Panamá')", timeout=15000
    )
    screen.page.wait_for_selector("#conn", state="hidden", timeout=5000)
    assert screen.page.evaluate("window.__sameDocument") is True  # no reload
    assert not screen.errors


def overflow_report(page: Any) -> dict[str, Any]:
    """Elements sticking out of the viewport, text below the size floor, what the queue shows."""
    return page.evaluate(
        """() => {
            const w = window.innerWidth, h = window.innerHeight;
            const out = [], small = [];
            let largestOther = 0;
            const big = [document.getElementById('clock'), document.getElementById('floor-name')];
            for (const el of document.querySelectorAll('body *')) {
                if (el.closest('[hidden]') || !el.getClientRects().length) continue;
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) continue;
                const name = `${el.tagName}#${el.id}.${el.className}`;
                if (r.left < -1 || r.right > w + 1 || r.bottom > h + 1) out.push(name);
                const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
                const size = parseFloat(getComputedStyle(el).fontSize);
                if (own && size < 0.024 * h) small.push(`${el.className}: ${size}px`);
                if (own && !big.some(b => b.contains(el))) {
                    largestOther = Math.max(largestOther, size);
                }
            }
            const items = [...document.querySelectorAll('#queue li')];
            const shown = items.filter(li => !li.hidden);
            const list = document.getElementById('queue').getBoundingClientRect();
            const last = shown.length ? shown[shown.length - 1].getBoundingClientRect() : list;
            const next = items[shown.length];
            let nextHeight = 0;
            if (next) {  // how tall the first entry left out would be
                next.hidden = false;
                nextHeight = next.getBoundingClientRect().height;
                next.hidden = true;
            }
            return {
                scrollWidth: document.documentElement.scrollWidth, width: w, out, small,
                queueShown: shown.length,
                // every shown entry whole, inside the list; the room left is less than the next one
                queueClipped: shown.some(li => li.getBoundingClientRect().bottom > list.bottom + 1),
                queueSlack: list.bottom - last.bottom, nextHeight,
                clockSize: parseFloat(getComputedStyle(big[0]).fontSize),
                floorSize: parseFloat(getComputedStyle(big[1]).fontSize),
                largestOther, height: h,
            };
        }"""
    )


def test_screen_fits_three_displays_with_the_longest_names(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in LONG_QUEUE:
        admin("speaker.add", room=ROOM, delegation=code)
    admin("speaker.add", room=ROOM, delegation="MEX", kind="point_of_order")
    admin("speaker.add", room=ROOM, delegation="CAN", kind="reply")
    bank = admin(
        "speaker.add",
        room=ROOM,
        delegation="IDB",
        kind="reply",
        speaker_name="Representative of the Bank",
    )
    admin("speaker.start", room=ROOM, entry_id=bank["entry_id"])  # the longest name speaks
    admin(
        "announcement.post",
        text={
            "es": "La sesión plenaria comienza a las 15:00 en el Palacio Bolívar.",
            "en": "The plenary starts at 15:00 in the Bolívar Palace.",
        },
        rooms=["*"],
    )
    for width, height in SIZES:
        screen = open_page("screen", ROOM, "", viewport=(width, height))
        screen.wait_live()
        screen.page.wait_for_function(
            "document.getElementById('queue').textContent.includes('San Vicente')", timeout=5000
        )
        time.sleep(0.3)
        screen.page.screenshot(path=str(artifacts / f"screen-{width}x{height}.png"))
        report = overflow_report(screen.page)
        assert report["scrollWidth"] <= report["width"], report
        assert report["out"] == [], report
        assert report["small"] == [], report
        # At least five waiting entries on every display, even portrait with the longest
        # name on the floor and an announcement; as many as fit whole, no empty gap left.
        assert report["queueShown"] >= 5, report
        assert not report["queueClipped"], report
        if report["nextHeight"]:
            assert report["queueSlack"] < report["nextHeight"], report
        # The clock and the name with the floor are the largest things on the screen.
        assert report["clockSize"] >= 0.07 * height, report
        assert report["clockSize"] > report["floorSize"] > report["largestOther"], report
        more = screen.text("#queue-more")
        waiting = len(LONG_QUEUE) + 2
        if report["queueShown"] < waiting:
            assert f"+ {waiting - report['queueShown']} " in more, more
        floor = screen.text("#floor-name")
        assert "Banco Interamericano de Desarrollo" in floor and "Inter-American" in floor
        assert "Cuestión de orden" in screen.text("#queue") and "Point of order" in screen.text(
            "#queue"
        )
        assert not screen.errors

    english = open_page("screen", ROOM, "?lang=en", viewport=(1920, 1080))
    english.wait_live()
    english.page.wait_for_function(
        "document.getElementById('queue').textContent.includes('Saint Vincent')", timeout=5000
    )
    body = english.page.evaluate("document.body.textContent")
    assert "Has the floor" in body and "Tiene la palabra" not in body
    assert "San Vicente" not in body
    english.page.screenshot(path=str(artifacts / "screen-1920x1080-en.png"))


def test_screen_shows_the_limit_the_time_of_day_and_five_next_speakers(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in ["IDB", *LONG_QUEUE[:1], *LONG_QUEUE[2:], "PAN"]:
        admin("speaker.add", room=ROOM, delegation=code)
    admin("speaker.next", room=ROOM)  # the bank (the longest name) speaks
    screen = open_page("screen", ROOM, "", viewport=(1920, 1080))
    screen.wait_live()
    screen.page.wait_for_function(
        "document.getElementById('clock-limit').textContent.includes('4:00')", timeout=5000
    )
    time.sleep(0.3)
    screen.page.screenshot(path=str(artifacts / "screen-1920x1080-limit.png"))
    limit = screen.text("#clock-limit")
    assert "de 4:00" in limit and "of 4:00" in limit, limit
    progress = screen.page.evaluate(
        "() => { const b = document.getElementById('clock-bar'); return [b.hidden, b.value]; }"
    )
    assert progress[0] is False and 0 <= progress[1] <= 5, progress
    # The time of day, in the meeting's time zone (Panama: UTC-5, no summer time).
    shown = screen.text("#now").strip()
    expected = time.strftime("%H:%M", time.gmtime(time.time() - 5 * 3600))
    assert shown == expected or shown[:2] == expected[:2], (shown, expected)
    report = overflow_report(screen.page)
    assert report["queueShown"] >= 5, report
    assert report["out"] == [] and report["small"] == [], report
    sizes = screen.page.evaluate(
        "[...document.querySelectorAll('#queue li')].slice(0, 2)"
        ".map(li => parseFloat(getComputedStyle(li).fontSize))"
    )
    assert sizes[0] > sizes[1], sizes  # who is next first, larger
    # An acronym once per language.
    floor = screen.text("#floor-name")
    assert floor.count("(BID)") == 1 and floor.count("(IDB)") == 1, floor
    assert not screen.errors


def test_a_suspended_sitting_says_when_it_resumes_full_width(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="PAN")
    admin("speaker.next", room=ROOM)
    admin("session.suspend", room=ROOM, until=time.time() + 15 * 60)
    for width, height in [(1920, 1080), (1080, 1920)]:
        screen = open_page("screen", ROOM, "", viewport=(width, height))
        screen.wait_live()
        screen.page.wait_for_selector("#suspension:not([hidden])", timeout=5000)
        time.sleep(0.3)
        screen.page.screenshot(path=str(artifacts / f"screen-{width}x{height}-suspended.png"))
        text = screen.text("#suspension")
        assert "Sesión suspendida" in text and "Sitting suspended" in text, text
        assert "Se reanuda a las" in text and "Resumes at" in text, text
        assert "14:" in text or "15:00" in text, text  # the countdown to it
        box = screen.page.locator("#suspension").bounding_box()
        assert box and box["width"] >= 0.9 * width, box
        assert screen.page.is_hidden("#floor-name")  # not "has the floor" while suspended
        assert not screen.errors
