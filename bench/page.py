"""Screen page: bytes transferred for /screen/<room> and time to the first state rendered.

Weight: the page and everything it loads (scripts, ES module imports, styles,
fonts, the vendored Socket.IO client), fetched as a browser would with
`Accept-Encoding: gzip, br`, counting bytes on the wire (headers included).
Render: headless Chromium (Playwright) from navigation to the moment the
screen sets `data-version` on <body> (screen.js does once a state is shown).
"""

from __future__ import annotations

import http.client
import re
import shutil
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

ASSET_RE = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#]+)["']""", re.I)
IMPORT_RE = re.compile(r"""(?:import|from)\s*\(?\s*["']([^"']+\.m?js)["']""")
CSS_URL_RE = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def _get(port: int, path: str, cookie: str | None) -> tuple[int, dict[str, str], bytes, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Encoding": "gzip, br", "Accept": "*/*"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    head = {k.lower(): v for k, v in resp.getheaders()}
    header_bytes = len(f"HTTP/1.1 {resp.status} {resp.reason}\r\n") + sum(
        len(k) + len(v) + 4 for k, v in resp.getheaders()) + 2
    conn.close()
    return resp.status, head, body, header_bytes + len(body)


def _decoded(head: dict[str, str], body: bytes) -> bytes:
    enc = head.get("content-encoding", "")
    if enc == "gzip":
        import gzip

        return gzip.decompress(body)
    if enc == "br":
        try:
            import brotli  # type: ignore[import-not-found]

            return bytes(brotli.decompress(body))
        except ImportError:
            return body
    return body


def weigh(port: int, access_path: str, room: str) -> dict[str, Any]:
    """Follow the access link for its cookie, then fetch the screen page and all it needs."""
    status, head, _, _ = _get(port, access_path, None)
    cookie = "; ".join(c.split(";", 1)[0] for c in [head.get("set-cookie", "")] if c)
    page = f"/screen/{room}"
    seen: dict[str, dict[str, Any]] = {}
    todo = [page]
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        st, h, body, wire = _get(port, path, cookie)
        text = _decoded(h, body)
        seen[path] = {"status": st, "wire_bytes": wire, "body_bytes": len(text),
                      "encoding": h.get("content-encoding", "identity")}
        ctype = h.get("content-type", "")
        found: list[str] = []
        decoded = text.decode("utf-8", "replace")
        if "html" in ctype:
            found = ASSET_RE.findall(decoded)
        elif "javascript" in ctype:
            found = IMPORT_RE.findall(decoded)
        elif "css" in ctype:
            found = CSS_URL_RE.findall(decoded)
        for ref in found:
            url = urljoin(path, ref)
            parts = urlsplit(url)
            if parts.netloc and parts.netloc not in (f"127.0.0.1:{port}",):
                continue
            if parts.path.endswith((".js", ".mjs", ".css", ".woff2", ".woff", ".svg", ".png",
                                    ".ico", ".json")) and not parts.path.endswith(".map"):
                todo.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    total = sum(x["wire_bytes"] for x in seen.values())
    return {"page": page, "access_status": status, "requests": len(seen),
            "transferred_bytes": total,
            "uncompressed_bytes": sum(x["body_bytes"] for x in seen.values()),
            "files": seen}


def first_render_ms(base: str, access_url: str, room: str, runs: int = 5) -> dict[str, Any]:
    """Navigation to first state shown, in headless Chromium (median of `runs`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"render_error": "playwright not installed"}
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    times: list[float] = []
    transferred: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"]) if exe \
            else pw.chromium.launch()
        try:
            # The page's CSP forbids eval, which Playwright's waits use; the page's own
            # scripts are unaffected by bypassing it for the measurement.
            ctx = browser.new_context(bypass_csp=True)
            page = ctx.new_page()
            page.goto(access_url)
            page.add_init_script("""
              new MutationObserver((_, obs) => {
                if (document.body && document.body.dataset.version && !window.__firstState) {
                  window.__firstState = performance.now(); obs.disconnect();
                }
              }).observe(document, {subtree: true, attributes: true, childList: true});
            """)
            for _ in range(runs):
                cdp = ctx.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                sizes: list[int] = []
                cdp.on("Network.loadingFinished",
                       lambda e, sizes=sizes: sizes.append(int(e.get("encodedDataLength", 0))))
                page.goto(f"{base}/screen/{room}")
                page.wait_for_function("window.__firstState !== undefined", timeout=10_000)
                times.append(float(page.evaluate("window.__firstState")))
                time.sleep(0.3)  # let the socket's own frames settle out of the page weight
                transferred.append(sum(sizes))
                cdp.detach()
        finally:
            browser.close()
    times.sort()
    return {"first_state_ms_median": round(times[len(times) // 2], 1),
            "first_state_ms_runs": [round(t, 1) for t in times],
            "browser_transferred_bytes": sorted(transferred)[len(transferred) // 2]}


def page_weight(args: Any, target: Any, links: list[dict[str, Any]]) -> dict[str, Any]:
    """The page suite of bench/run.py."""
    room = target.room
    link = next(x for x in links if x["role"] == "screen" and x["room"] == room)
    access_path = urlsplit(link["url"]).path
    base = f"http://127.0.0.1:{target.port}"
    result = weigh(target.port, access_path, room)
    if getattr(args, "no_render", False):
        return result
    try:
        runs = 3 if getattr(args, "quick", False) else 5
        result.update(first_render_ms(base, base + access_path, room, runs))
    except Exception as exc:  # the weight stands even if no browser can run here
        result["render_error"] = str(exc)[-500:]
    return result
