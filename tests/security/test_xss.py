"""Promise 10: a corpus of script injections, posted as announcements and as speaker
names, runs nothing in the screens, the overview, the chair console or the staff desk
(headless Chromium, page CSP bypassed so the rendering itself is what is proved safe).

Extends tests/browser/test_announcements.py (a handful of payloads) with a larger
corpus; uses the same Chromium setup (tests/browser/conftest.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.faults.harness import programme_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each payload calls top.__hit(n) if it ever runs; the page's alert/confirm/prompt do too.
TEMPLATES = [
    "<script>{js}</script>", "<img src=x onerror=\"{js}\">", "<svg onload=\"{js}\">",
    "<svg><script>{js}</script></svg>", "<body onload=\"{js}\">",
    "<iframe src=\"javascript:{js}\"></iframe>", "<iframe srcdoc=\"<script>{js}</script>\">",
    "<a href=\"javascript:{js}\">x</a>", "<details open ontoggle=\"{js}\">",
    "<input autofocus onfocus=\"{js}\">", "<video><source onerror=\"{js}\"></video>",
    "<audio src=x onerror=\"{js}\">", "<marquee onstart=\"{js}\">x</marquee>",
    "<object data=\"javascript:{js}\">", "<embed src=\"javascript:{js}\">",
    "\"><script>{js}</script>", "'><img src=x onerror={js}>",
    "</textarea><script>{js}</script>", "</title><script>{js}</script>",
    "<div style=\"background:url(javascript:{js})\">x</div>",
    "<form><button formaction=\"javascript:{js}\">x</button></form>",
    "<IMG SRC=x OnErRoR=\"{js}\">", "<img/src=x/onerror=\"{js}\">",
    "<scr<script>ipt>{js}</scr</script>ipt>", "&lt;script&gt;{js}&lt;/script&gt;",
    "<!--<script>{js}</script>-->", "<![CDATA[<script>{js}</script>]]>",
    "<base href=\"javascript:{js}//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:{js}\">",
    "<template><script>{js}</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror={js}>\">",
    "<select autofocus onfocus=\"{js}\"></select>", "<textarea autofocus onfocus=\"{js}\">",
    "<svg><animate onbegin=\"{js}\" attributeName=x dur=1s>",
    "<svg><a xlink:href=\"javascript:{js}\"><text y=20>x</text></a></svg>",
    "{{{{constructor.constructor('{js}')()}}}}", "${{{js}}}", "javascript:{js}",
    "<x contenteditable onblur=\"{js}\">x</x>", "<a id=x tabindex=1 onfocusin=\"{js}\">x</a>",
    "<svg><style><img src=x onerror=\"{js}\"></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"{js}\">",
    "<img src=\"x` `<script>{js}</script>\"` `>", "\u003cscript\u003e{js}\u003c/script\u003e",
    "<iframe src=\"data:text/html,<script>{js}</script>\"></iframe>",
    "<img src=x onerror=&#x74;&#x6f;&#x70;.__hit({n})>", "<svg/onload={js}//",
    "<body/onpageshow=\"{js}\">", "<style onload=\"{js}\"></style>",
    "<image src=x onerror=\"{js}\">", "<input type=image src=x onerror=\"{js}\">",
    "<link rel=stylesheet href=x onerror=\"{js}\">", "<track src=x onerror=\"{js}\">",
    "%3Cscript%3E{js}%3C/script%3E", "<script src=\"data:,{js}\"></script>",
]
CORPUS = [t.format(js=f"top.__hit({n})", n=n) for n, t in enumerate(TEMPLATES)]

HOOK = """
window.__hits = [];
window.__hit = (n) => window.__hits.push(String(n));
for (const f of ['alert', 'confirm', 'prompt', 'print']) {
  window[f] = (...a) => { window.__hits.push(f + ':' + a.join(',')); };
}
"""

CHECK = """() => ({
  hits: window.__hits,
  handlers: [...document.querySelectorAll('*')].filter(
      el => [...el.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
  frames: document.querySelectorAll('iframe, object, embed, base, meta[http-equiv]').length,
  scripts: document.querySelectorAll('body script:not([src]):not([type])').length,
})"""


def announcements(corpus: list[str], limit: int = 500) -> list[str]:
    """The corpus packed into announcement texts of at most `limit` characters."""
    texts, current = [], ""
    for payload in corpus:
        if current and len(current) + 1 + len(payload) > limit:
            texts.append(current)
            current = ""
        current = f"{current} {payload}".strip()
    return [*texts, current]


@pytest.mark.timeout(240)
def test_no_script_of_the_corpus_runs_on_any_page(browser, live_server):  # noqa: F811
    import requests

    programme = programme_of(live_server)
    room = next(s["room"] for s in programme["sessions"] if s["kind"] == "plenary")
    session = next(s["id"] for s in programme["sessions"] if s["room"] == room)
    codes = [d["code"] for d in programme["delegations"]]
    admin = live_server.token("admin")

    def send(body: dict[str, Any]) -> dict[str, Any]:
        r = requests.post(f"{live_server.url}/api/commands", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, (body, r.text)
        return r.json()  # type: ignore[no-any-return]

    send({"type": "session.open", "room": room, "session_id": session})
    contexts, pages, dialogs = [], [], []
    for role, scope in (("screen", room), ("screen", "*"), ("chair", room), ("staff", "*")):
        context = browser.new_context(viewport={"width": 1920, "height": 1080},
                                      bypass_csp=True)
        context.add_init_script(HOOK)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{live_server.url}/access/{live_server.token(role, scope)}")
        page.wait_for_function("document.body.dataset.phase === 'live'", timeout=15000)
        pages.append(page)
    try:
        kinds = ["speech", "point_of_order", "reply"]
        names = [p[:120] for p in CORPUS]
        for i, name in enumerate(names):
            send({"type": "speaker.add", "room": room, "delegation": codes[i % len(codes)],
                  "kind": kinds[i // len(codes)], "speaker_name": name})
        texts = announcements(CORPUS)
        for i, text in enumerate(texts):
            send({"type": "announcement.post", "text": {"es": text, "en": text},
                  "level": "urgent" if i == len(texts) - 1 else "info", "rooms": ["*"]})
        chair = pages[2]
        chair.wait_for_function(
            f"document.body.textContent.includes({names[-1]!r})", timeout=10000)
        # every name takes the floor once: the room screen shows each as the speaker
        for _ in names:
            send({"type": "speaker.next", "room": room})
            time.sleep(0.05)
        time.sleep(1)
        for page in pages:
            found = page.evaluate(CHECK)
            assert found == {"hits": [], "handlers": 0, "frames": 0, "scripts": 0}, (
                page.url, found)
        assert dialogs == []
        # shown as text, as typed
        assert names[-1] in pages[0].locator("body").inner_text()
        assert CORPUS[0] in pages[3].locator("body").inner_text()
        # the detector works: the same corpus set as HTML (what the pages must never do) runs
        probe = contexts[0].new_page()
        probe.goto(f"{live_server.url}/healthz")
        probe.evaluate("(html) => { document.body.innerHTML = html; }", "".join(CORPUS))
        time.sleep(1)
        assert len(probe.evaluate("window.__hits")) >= 3
        print(f"\nXSS corpus: {len(CORPUS)} payloads as {len(names)} speaker names and "
              f"{len(texts)} announcements on 4 pages: 0 ran")
    finally:
        for context in contexts:
            context.close()
