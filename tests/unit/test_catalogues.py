"""The catalogues are complete and compiled: every marked string is extracted, and each
committed .mo is its .po compiled (an install has no build step, so a stale .mo shows
the msgid in Spanish pages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "dashboard" / "translations"
# The keywords scripts/i18n.sh gives `pybabel extract` (-k _l -k lazy_gettext -k N_).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}


def _catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_mo(source) if path.suffix == ".mo" else read_po(source, locale=locale)


def _marked() -> set[str]:
    """The msgids `scripts/i18n.sh extract` collects from the code and the templates."""
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse(config)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0]
            for _, _, message, _, _ in found}


def test_every_marked_string_is_in_the_template_catalogue() -> None:
    template = {m.id if isinstance(m.id, str) else m.id[0]
                for m in _catalogue(TRANSLATIONS / "messages.pot") if m.id}
    marked = _marked()
    assert not marked - template, (
        f"marked but not extracted (run scripts/i18n.sh extract): {sorted(marked - template)}")
    assert not template - marked, (
        f"extracted but no longer marked (run scripts/i18n.sh extract): "
        f"{sorted(template - marked)}")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_interface_string_has_a_text_in_each_language(lang: str) -> None:
    wanted = {m.id for m in _catalogue(TRANSLATIONS / "messages.pot") if m.id}
    source = _catalogue(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", lang)
    done = {m.id for m in source if m.id and m.string and not m.fuzzy}
    assert not wanted - done, f"{lang}: untranslated or fuzzy: {sorted(map(str, wanted - done))}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_each_committed_mo_is_its_po_compiled(lang: str) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    source = _catalogue(folder / "messages.po", lang)
    compiled = _catalogue(folder / "messages.mo")
    wanted = {m.id: m.string for m in source if m.id and m.string and not m.fuzzy}
    got = {m.id: m.string for m in compiled if m.id}
    stale = sorted(str(k) for k in wanted if got.get(k) != wanted[k])
    assert not stale, f"{lang}: .mo older than its .po (run scripts/i18n.sh compile): {stale}"
    assert set(got) <= set(wanted), f"{lang}: .mo has messages its .po has not"
