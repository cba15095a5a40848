"""The website as readers use it, checked in a real browser (headless Chromium).

For every page of the built site: no console errors, no failed or off-site
requests, every equation typeset by the bundled MathJax, every image with alt
text that loads, every kernel-free explorer responding to its controls, hidden
solutions hidden until clicked, no serious or critical axe-core violations,
and every internal link and anchor resolving.

Needs Chromium: /usr/bin/chromium or $COURSE_CHROMIUM. Without it the tests are
skipped, unless COURSE_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
The site is built first if _build/html is missing.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("COURSE_REQUIRE_BROWSER") == "1"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES: dict[str, int] = {}


def _pages() -> list[str]:
    if not SITE.exists():
        return ["book/intro.html"]  # placeholder name; the fixture builds the site
    pages = sorted(p.relative_to(SITE).as_posix() for p in (SITE / "book").rglob("*.html"))
    return pages + ["genindex.html", "search.html"]


def ensure_site():
    """Build the site (strict) if _build/html is missing; one build at a time across test workers."""
    import fcntl

    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (SITE / "index.html").exists():
            subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                            "-W", "-n", "--keep-going"], check=True, cwd=ROOT)


@pytest.fixture(scope="session")
def site():
    if not Path(CHROMIUM).exists():
        msg = (f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
               f"or set COURSE_CHROMIUM to run the browser tests")
        if REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)
    ensure_site()
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@pytest.fixture(scope="session")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class PageLog:
    """What happened while a page loaded: errors, requests, bytes."""

    def __init__(self, page, origin):
        self.errors, self.failed, self.offsite, self.bytes = [], [], [], 0
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:"))
                else self.offsite.append(r.url))
        page.on("response", self._response)

    def _response(self, r):
        if r.status >= 400:
            self.failed.append(f"{r.status} {r.url}")
        try:
            self.bytes += len(r.body())
        except Exception:  # redirects and aborted responses have no body
            pass


def _open(browser, site, name):
    # a fresh context per page: an empty cache, so the transfer size is the full page
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log = PageLog(page, site)
    page.goto(f"{site}/{name}", wait_until="load")
    # wait for MathJax to finish typesetting (bundled locally, see _config.yml)
    page.wait_for_function("!window.MathJax || (MathJax.startup && MathJax.startup.promise)",
                           timeout=15000)
    page.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_timeout(200)
    return page, log


@pytest.mark.parametrize("name", _pages())
def test_page(browser, site, name):
    page, log = _open(browser, site, name)
    try:
        # 1. loads cleanly, offline: nothing fails and nothing leaves the site
        assert log.errors == [], f"console errors on {name}: {log.errors}"
        assert log.failed == [], f"failed requests on {name}: {log.failed}"
        assert log.offsite == [], f"off-site requests on {name}: {log.offsite}"

        # 2. every TeX source typeset: no raw delimiters left in the visible text
        text = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
        for raw in ("\\(", "\\[", "$$", "\\begin{"):
            assert raw not in text, f"raw TeX {raw!r} visible on {name}"
        n_math = page.evaluate("document.querySelectorAll('.math').length")
        n_typeset = page.evaluate("document.querySelectorAll('.math mjx-container').length")
        assert n_typeset == n_math, f"{n_math - n_typeset} equation(s) not typeset on {name}"

        # 3. images: alt text and loaded
        bad = page.evaluate("""[...document.querySelectorAll('main img')]
            .filter(i => !(i.getAttribute('alt') || '').trim() || !i.complete || i.naturalWidth === 0)
            .map(i => i.src.slice(0, 80))""")
        assert bad == [], f"images without alt text or not loaded on {name}: {bad}"

        # 4. kernel-free explorers respond to every control
        for k in range(page.locator(".lstmx").count()):
            root = page.locator(".lstmx").nth(k)
            assert root.get_attribute("data-ready") == "1", f"explorer {k} on {name} did not start"
            for j in range(root.locator("input[type=range]").count()):
                rng = root.locator("input[type=range]").nth(j)
                before = (root.get_attribute("data-frame"), root.locator("svg").inner_html(),
                          root.locator(".lstmx-readout").inner_text())
                new = "0" if rng.input_value() != "0" else rng.get_attribute("max")
                rng.fill(new)
                after = (root.get_attribute("data-frame"), root.locator("svg").inner_html(),
                         root.locator(".lstmx-readout").inner_text())
                assert after[0] != before[0], f"explorer {k} control {j} on {name}: frame unchanged"
                assert after[1] != before[1], f"explorer {k} control {j} on {name}: picture unchanged"
                label = page.locator(f"label[for='{rng.get_attribute('id')}']")
                assert label.count() == 1 and label.inner_text().strip(), "slider without a label"

        # 5. hidden solutions and answers: hidden until clicked, then visible
        for k in range(page.locator("div.solution.dropdown, div.admonition.dropdown").count()):
            box = page.locator("div.solution.dropdown, div.admonition.dropdown").nth(k)
            body = box.locator("> :not(.admonition-title)").first
            if body.count() == 0:
                continue
            assert not body.is_visible(), f"dropdown {k} on {name} is open before a click"
            box.locator(".admonition-title").first.click()
            page.wait_for_timeout(150)
            assert body.is_visible(), f"dropdown {k} on {name} does not open when clicked"
        for k in range(page.locator("main details").count()):
            det = page.locator("main details").nth(k)
            content = det.locator("> :not(summary)").first
            if content.count() == 0:
                continue
            assert not content.is_visible(), f"<details> {k} on {name} is open before a click"
            det.locator("summary").first.click()
            assert content.is_visible(), f"<details> {k} on {name} does not open"

        # 6. accessibility: no serious or critical axe-core violations
        from axe_playwright_python.sync_playwright import Axe

        # Opening dropdowns starts CSS transitions (fades): axe would measure the contrast of
        # half-transparent text. Wait until every animation and transition has finished.
        page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')",
                               timeout=10_000)
        result = Axe().run(page)
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
                   for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], f"axe violations on {name}: {serious}"
        SIZES[name] = page.evaluate("""performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource'))
            .reduce((a, e) => a + (e.transferSize || e.encodedBodySize || 0), 0)""")
    finally:
        page.context.close()


def test_internal_links_and_anchors_resolve(site):
    """Crawl every built page: each same-site link points at a file, each #anchor at an id."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs, self.ids = [], set()

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if a.get("id"):
                self.ids.add(a["id"])
            if tag == "a" and a.get("href"):
                self.hrefs.append(a["href"])
            if tag in ("link", "script", "img") and (a.get("href") or a.get("src")):
                self.hrefs.append(a.get("href") or a.get("src"))

    parsed = {}
    for path in SITE.rglob("*.html"):
        if "_static" in path.parts or "_sources" in path.parts:
            continue
        p = Links()
        p.feed(path.read_text(encoding="utf-8"))
        parsed[path.resolve()] = p
    broken = []
    for path, p in parsed.items():
        for href in p.hrefs:
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto", "data", "javascript") or href.startswith("//"):
                continue
            target_s, frag = urldefrag(href)
            target_s = urlparse(target_s).path  # drop ?v=... cache busters
            target = (path.parent / unquote(target_s)).resolve() if target_s else path
            if not target.exists():
                broken.append(f"{path.relative_to(SITE.resolve())}: {href}")
            elif frag and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else set()
                if unquote(frag) not in ids:
                    broken.append(f"{path.relative_to(SITE.resolve())}: {href} (no such anchor)")
    assert broken == [], f"{len(broken)} broken internal link(s): {broken[:20]}"


def test_no_offsite_assets_in_built_files(site):
    """No page or script of ours names a CDN to load from (offline readers have none)."""
    cdn = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com")
    hits = []
    for path in SITE.rglob("*.html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for host in cdn:
            if host in text:
                hits.append(f"{path.relative_to(SITE)}: {host}")
    assert hits == [], hits


def test_report_page_sizes(site, browser):
    """Print each page's total transfer size (runs after the page tests)."""
    if not SIZES:
        pytest.skip("page tests did not run")
    largest = max(SIZES, key=SIZES.get)
    lines = [f"{SIZES[n] / 1024:9.0f} KiB  {n}" for n in sorted(SIZES)]
    print("\nPage transfer sizes:\n" + "\n".join(lines) +
          f"\nlargest: {largest} ({SIZES[largest] / 1024:.0f} KiB) over {len(SIZES)} pages")
    assert SIZES[largest] < 20 * 1024 * 1024
