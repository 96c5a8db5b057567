"""Compiled message catalogues for tests that render pages (the .mo files are not committed)."""

from __future__ import annotations

from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent.parent / "dashboard" / "translations"


def ensure_compiled() -> None:
    """Compile each .po whose .mo is missing or older (what `pybabel compile` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        with mo.open("wb") as target:
            write_mo(target, catalog)
