"""The record of speeches reads as a document: on a phone, on a laptop and on A4 paper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOM, SITTING = "plenario", "plenaria"
SPEAKERS = ["IDB", "VCT", "UNHCR", "PAN", "USA"]


def a_recorded_sitting(admin: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in SPEAKERS:
        admin("speaker.add", room=ROOM, delegation=code)
    for _ in SPEAKERS:
        admin("speaker.next", room=ROOM)
        time.sleep(0.2)
    admin("speaker.stop", room=ROOM)


def layout_report(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const w = document.documentElement.clientWidth;
            const svg = document.querySelector('svg.minutes-chart');
            const chart = svg.getBoundingClientRect();
            const clipped = [...svg.querySelectorAll('text')].filter(t => {
                const r = t.getBoundingClientRect();
                return r.left < chart.left - 1 || r.right > chart.right + 1;
            }).map(t => t.textContent);
            const wider = [...document.querySelectorAll('main *')].filter(el => {
                const r = el.getBoundingClientRect();
                return r.width && (r.right > w + 1 || r.left < -1);
            }).map(el => el.tagName + '.' + el.className);
            // A header broken inside a word has more lines than it has words.
            const broken = [...document.querySelectorAll('thead th')].filter(th => {
                const range = document.createRange();
                range.selectNodeContents(th);
                const tops = new Set([...range.getClientRects()]
                    .filter(r => r.width > 1).map(r => Math.round(r.top)));
                return tops.size > th.textContent.trim().split(/\\s+/).length;
            }).map(th => th.textContent);
            return {scrollWidth: document.documentElement.scrollWidth, width: w,
                    clipped, wider, broken, labels: [...svg.querySelectorAll('text.chart-label')]
                    .map(t => [...t.querySelectorAll('tspan')].map(s => s.textContent).join(' '))};
        }"""
    )


def test_the_record_fits_a_phone_and_a_laptop_and_prints_on_a4_whole(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    a_recorded_sitting(admin)
    for width, height, lang in [(390, 844, "es"), (1366, 768, "en"), (1366, 768, "es")]:
        record = open_page("admin", "*", f"/admin/minutes?lang={lang}", viewport=(width, height))
        record.page.wait_for_selector("svg.minutes-chart text.chart-label")
        record.page.screenshot(
            path=str(artifacts / f"record-{width}x{height}-{lang}.png"), full_page=True
        )
        report = layout_report(record.page)
        where = f"{width}x{height} {lang}: {report}"
        assert report["scrollWidth"] <= report["width"], where
        assert report["wider"] == [] and report["clipped"] == [], where
        assert report["broken"] == [], where
        bank = "Banco Interamericano de Desarrollo (BID)" if lang == "es" else (
            "Inter-American Development Bank (IDB)"
        )
        # Every label whole (wrapped between words where long): the longest name is all there.
        assert any(bank in label for label in report["labels"]), where
        assert "America/Panama" in record.text("main"), where
        assert not record.errors

    # Printed by Chromium on A4: the same checks at the printed width, then the PDF itself.
    page = record.page
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 718, "height": 1000})  # A4 less 12 mm margins, at 96 dpi
    page.screenshot(path=str(artifacts / "record-a4-print.png"), full_page=True)
    report = layout_report(page)
    assert report["scrollWidth"] <= report["width"], report
    assert report["wider"] == [] and report["clipped"] == [], report
    assert report["broken"] == [], report
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / "record-a4.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_the_record_reads_by_agenda_item(open_page: Any, admin: Any, artifacts: Path) -> None:
    """Speeches under two agenda items: the page shows each item's title over its own
    speeches (a group statement named as such), in Spanish and in English."""
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("item.start", room=ROOM, item_id="informes")
    for code in ("PAN", "COL"):
        admin("speaker.add", room=ROOM, delegation=code)
    admin("speaker.next", room=ROOM)
    admin("speaker.next", room=ROOM)
    admin("item.start", room=ROOM, item_id="corrupcion-redes")
    admin("speaker.add", room=ROOM, delegation="BRB", on_behalf_of="CARICOM")
    admin("speaker.next", room=ROOM)
    admin("speaker.stop", room=ROOM)
    titles = {
        "en": ("Reports of the working groups",
               "The fight against corruption and the criminal networks that profit from migrants",
               "Plenary session — security, solidarity and human rights",
               "BRB · Barbados, on behalf of Caribbean Community (CARICOM)"),
        "es": ("Informes de los grupos de trabajo",
               "Lucha contra la corrupción y las redes criminales de tráfico de migrantes",
               "Sesión plenaria — seguridad, solidaridad y derechos humanos",
               "BRB · Barbados, en nombre de Comunidad del Caribe (CARICOM)"),
    }
    for lang, (first, second, sitting, group) in titles.items():
        record = open_page("admin", "*", f"/admin/minutes?lang={lang}", viewport=(1366, 768))
        page = record.page
        page.wait_for_selector("section.record-item h3")
        sections = page.locator("section.record-item").all()
        assert [s.locator("h3").inner_text() for s in sections] == [first, second], lang
        under = [[row.locator("td").nth(1).inner_text() for row in s.locator("tbody tr").all()]
                 for s in sections]
        assert under == [["PAN · Panamá" if lang == "es" else "PAN · Panama",
                          "COL · Colombia"], [group]], (lang, under)
        for section, count in zip(sections, (2, 1), strict=True):
            note = section.locator(".doc-note").inner_text()
            assert sitting in note and f": {count} ·" in note, (lang, note)
        page.screenshot(path=str(artifacts / f"record-items-{lang}.png"), full_page=True)
        assert not record.errors
