"""The podium monitor shows the chair's message (and only it does); the chyron's lower third."""

from __future__ import annotations

import struct
import zlib
from typing import Any

ROOM, SITTING = "plenario", "plenaria"


def png_pixels(data: bytes) -> tuple[int, int, list[bytearray]]:
    """(width, height, rows of RGBA bytes) of an 8-bit RGBA PNG (Chromium's screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (size,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, colour, interlace) == (8, 6, 0), "not 8-bit RGBA"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + size
    raw, stride, rows = zlib.decompress(idat), width * 4, []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b, c = prev[i], prev[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def alpha(rows: list[bytearray], x: int, y: int) -> int:
    return rows[y][x * 4 + 3]


def test_a_podium_message_shows_on_the_podium_only(open_page: Any, admin: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="PAN")
    admin("speaker.add", room=ROOM, delegation="USA")
    admin("speaker.next", room=ROOM)
    podium = open_page("screen", ROOM, f"/podium/{ROOM}", viewport=(1280, 720))
    screen = open_page("screen", ROOM, "")
    overview = open_page("screen", "*", "/overview")
    chair = open_page("chair", ROOM, f"/chair/{ROOM}")
    for page in (podium, screen, overview, chair):
        page.wait_live()
    assert "Panamá" in podium.text("#floor-name")
    assert "Estados Unidos" in podium.text("#next-name") or "United States" in podium.text(
        "#next-name")
    assert podium.text("#clock").strip()

    chair.page.click("#btn-podium-conclude")
    podium.page.wait_for_selector("#message:not([hidden])", timeout=5000)
    assert "Por favor concluya" in podium.text("#message")
    assert "Please conclude" in podium.text("#message")
    chair.page.wait_for_selector("#btn-podium-clear:not([hidden])", timeout=5000)
    admin("podium.message", room=ROOM, text={"es": "Mensaje privado", "en": "Private note"},
          blink=True)
    podium.page.wait_for_function(
        "document.getElementById('message').textContent.includes('Private note')", timeout=5000)
    assert podium.page.get_attribute("#message", "data-blink") == "true"
    for page in (screen, overview, chair):
        body = page.page.inner_text("body")
        assert "Private note" not in body and "Mensaje privado" not in body
        assert "Por favor concluya" not in body or page is chair  # the chair's button says it
    chair.page.click("#btn-podium-clear")
    podium.page.wait_for_selector("#message", state="hidden", timeout=5000)
    assert not (podium.errors or screen.errors or overview.errors or chair.errors)


def test_the_chyron_is_transparent_shows_the_name_and_hides_without_a_floor(
        open_page: Any, admin: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="PAN", speaker_name="Ana Gómez",
          speaker_title="Minister of Foreign Affairs")
    admin("speaker.add", room=ROOM, delegation="BRB", on_behalf_of="CARICOM",
          speaker_title="Prime Minister")
    chyron = open_page("screen", ROOM, f"/chyron/{ROOM}?lang=en", viewport=(1280, 720))
    chyron.wait_live()
    assert chyron.page.is_hidden("#third")
    admin("speaker.next", room=ROOM)
    chyron.page.wait_for_selector("#third:not([hidden])", timeout=5000)
    assert chyron.text("#delegation") == "Panama"
    assert chyron.text("#detail") == "Ana Gómez, Minister of Foreign Affairs"
    assert chyron.text("#title") == "Minister of Foreign Affairs"  # its own element, styled
    _, _, rows = png_pixels(chyron.page.screenshot(omit_background=True))
    assert alpha(rows, 5, 5) == 0  # the corner: nothing drawn, fully transparent
    box = chyron.page.locator("#third").bounding_box()
    assert alpha(rows, int(box["x"] + 4), int(box["y"] + box["height"] / 2)) > 200
    admin("speaker.next", room=ROOM)  # a title and a group, no name
    chyron.page.wait_for_function(
        "document.getElementById('delegation').textContent === 'Barbados'", timeout=5000)
    assert chyron.text("#detail") == "Prime Minister · Caribbean Community (CARICOM)"
    admin("speaker.stop", room=ROOM)
    chyron.page.wait_for_selector("#third", state="hidden", timeout=5000)
    assert not chyron.errors


def test_a_long_message_leaves_the_clock_and_the_floor_on_the_podium_display(
        open_page: Any, admin: Any) -> None:
    """The longest message the chair may send (500 characters in each language) shares the
    display with the clock: nothing is pushed off it, at 1280×720 and in portrait. No text
    is under 2.5 % of the height, but the message: in portrait, 2.5 % of the width."""
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="UNHCR", speaker_name="María José Fernández")
    admin("speaker.add", room=ROOM, delegation="IOM")
    admin("speaker.next", room=ROOM)
    es = ("Le ruego concluya: quedan once oradores inscritos y la interpretación termina a "
          "las 18:00. ") * 6
    en = ("Please conclude: eleven speakers are still inscribed and interpretation ends at "
          "18:00. ") * 6
    admin("podium.message", room=ROOM, text={"es": es[:500], "en": en[:500]})
    for viewport in ((1280, 720), (1080, 1920)):
        podium = open_page("screen", ROOM, f"/podium/{ROOM}", viewport=viewport)
        podium.wait_live()
        podium.page.wait_for_selector("#message:not([hidden])", timeout=5000)
        podium.page.wait_for_timeout(300)
        boxes = podium.page.evaluate("""() => Object.fromEntries(
            ['message', 'clock', 'clock-limit', 'floor-name', 'next-name'].map((id) => {
              const el = document.getElementById(id);
              const r = el.getBoundingClientRect();
              return [id, {top: r.top, bottom: r.bottom,
                           size: parseFloat(getComputedStyle(el).fontSize)}];
            }))""")
        height = viewport[1]
        assert podium.page.evaluate(
            "document.documentElement.scrollHeight <= window.innerHeight"), viewport
        for name, box in boxes.items():
            assert 0 <= box["top"] and box["bottom"] <= height + 1, (viewport, name, box)
            floor = min(viewport) if name == "message" else height
            assert box["size"] >= 0.025 * floor - 0.5, (viewport, name, box)
        labels = podium.page.eval_on_selector_all(
            ".p-label", "ls => ls.map((l) => parseFloat(getComputedStyle(l).fontSize))")
        assert min(labels) >= 0.025 * height - 0.5, (viewport, labels)
        assert boxes["message"]["bottom"] <= boxes["clock"]["top"] + 1, viewport
        assert boxes["clock"]["size"] > boxes["floor-name"]["size"], viewport
        assert not podium.errors


def test_the_speaker_s_own_name_is_said_once_in_both_languages(
        open_page: Any, admin: Any) -> None:
    """The delegation's name is in each language; the person's own is the same in both."""
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="USA", speaker_name="María Pérez")
    admin("speaker.next", room=ROOM)
    podium = open_page("screen", ROOM, f"/podium/{ROOM}", viewport=(1280, 720))
    podium.wait_live()
    said = podium.text("#floor-name")
    assert "Estados Unidos" in said and "United States" in said, said
    assert said.count("María Pérez") == 1, said
    assert not podium.errors
