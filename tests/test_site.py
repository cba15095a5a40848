"""The website as readers use it, checked in a real browser (headless Chromium).

Every page of the built site is loaded once, in light mode at 1280 px, and checked
in turn for: no console errors, no failed or off-site requests, every equation
typeset (at build time: no MathJax script loads), every image with alt text that
loads, every kernel-free explorer responding to its controls, hidden solutions
hidden until clicked, one search field, no serious or critical axe-core findings
(the pinned axe-core in tests/vendor), and the page's weight within the budget.
Then the reader's system asks for dark mode: the theme follows, and axe-core's
colour rules find nothing serious or critical there either. Last, what is inside
the page is measured at 1280 px and, resized, at 390 px (tests/reading.py: text of
figures and explorers legible at the size shown, no code or equation wider than its
box, no equation number over its equation, explorers stacked on a phone). Every
internal link and anchor resolves. The budgets hold for every page, the chapters
to come included:

* PAGE_BUDGET: bytes a page transfers with an empty cache (all requests, uncompressed);
* SITE_BUDGET: bytes of the whole built site on disk;
* zero serious or critical axe-core findings in light and in dark mode;
* tests/reading.py's: MIN_TEXT_PX, STACK_BELOW_PX, MIN_CONTRAST.

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

import reading

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("COURSE_REQUIRE_BROWSER") == "1"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES: dict[str, int] = {}
READING: dict[str, dict] = {}     # tests/reading.py's measurements, per page

PAGE_BUDGET = 1_500_000          # bytes transferred by one page, empty cache, uncompressed
SITE_BUDGET = 12_000_000         # bytes of _build/html on disk
# axe-core, pinned: the file from `npm pack axe-core@4.14.1`, its sha256 checked before use
AXE_VERSION = "4.14.1"
AXE = Path(__file__).resolve().parent / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

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


_BROWSER: list = []   # one Chromium per process: other test files import this fixture,
                      # and Playwright's sync API cannot be started twice in one process


@pytest.fixture(scope="session")
def browser(site):
    if _BROWSER:          # the other module's instance of this fixture started it
        yield _BROWSER[0]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _BROWSER.append(b)
        try:
            yield b
        finally:
            _BROWSER.clear()
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


def _open(browser, site, name, width=1280, color_scheme="light"):
    # a fresh context per page: an empty cache, so the transfer size is the full page
    page = browser.new_context(viewport={"width": width, "height": 900},
                               color_scheme=color_scheme).new_page()
    log = PageLog(page, site)
    page.goto(f"{site}/{name}", wait_until="load")
    # maths is typeset at build time; a page that still loads MathJax is waited for (and fails below)
    page.wait_for_function("!window.MathJax || (MathJax.startup && MathJax.startup.promise)",
                           timeout=15000)
    page.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    wait_for_explorers(page)
    page.wait_for_timeout(200)
    return page, log


def wait_for_explorers(page):
    """Until every kernel-free explorer has unpacked its frames and drawn the first one."""
    page.wait_for_function("[...document.querySelectorAll('.lstmx')].every(e => e.getAttribute('data-ready'))",
                           timeout=15000)


def axe_source() -> str:
    """The pinned axe-core, after checking that it is the file we pinned."""
    import hashlib

    data = AXE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE} is not axe-core {AXE_VERSION} as pinned (sha256 {digest})"
    return data.decode("utf-8")


COLOUR_RULES = ["color-contrast", "link-in-text-block"]   # what a change of colours can break


def axe_serious(page, rules=None) -> list:
    """Serious and critical axe-core findings on the page as it is now (the pinned axe-core).

    ``rules``: run only these axe rules (the dark-mode pass runs COLOUR_RULES); all by default.
    """
    # Opening dropdowns starts CSS transitions (fades): axe would measure the contrast of
    # half-transparent text. Wait until every animation and transition has finished.
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')",
                           timeout=10_000)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    version = page.evaluate("axe.version")
    assert version == AXE_VERSION, f"axe-core {version} ran, not {AXE_VERSION}"
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": list(rules)}
    violations = page.evaluate("options => axe.run(document, options).then(r => r.violations)", options)
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in violations if v["impact"] in ("serious", "critical")]


def transfer_bytes(page) -> int:
    """Bytes the page has fetched so far (navigation and every resource; uncompressed here)."""
    return page.evaluate("""performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((a, e) => a + (e.transferSize || e.encodedBodySize || 0), 0)""")


def load_everything(page):
    """Load every lazily loaded image now, as scrolling to the end would, so that it counts
    in the page's weight; returns how many images were still to load."""
    pending = page.evaluate("""async () => {
        const images = [...document.images];
        for (const img of images) if (img.loading === 'lazy') img.loading = 'eager';
        const waiting = images.filter(img => !img.complete);
        await Promise.all(waiting.map(img => new Promise(done => {
            img.addEventListener('load', done); img.addEventListener('error', done); })));
        return waiting.length; }""")
    page.wait_for_load_state("load")
    page.wait_for_timeout(100)
    return pending


# Dropdowns (sphinx-togglebutton: solutions, derivations, answers) and <details>
# (MyST-NB's hidden code): each one's body must be hidden, and visible after its title is
# clicked. Visible means what Playwright's is_visible means: checkVisibility() (no
# display: none or content-visibility: hidden on the way up), a box with a size, and
# not visibility: hidden.
_BOXES = """const VIS = e => { if (e.checkVisibility && !e.checkVisibility()) return false;
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
    const boxes = () => [
      ...[...document.querySelectorAll('div.solution.dropdown, div.admonition.dropdown')].map((box, k) =>
          ['dropdown ' + k, box.querySelector(':scope > :not(.admonition-title)'),
           box.querySelector('.admonition-title')]),
      ...[...document.querySelectorAll('main details')].map((det, k) =>
          ['details ' + k, det.querySelector(':scope > :not(summary)'), det.querySelector('summary')]),
    ].filter(([, body, title]) => body && title);"""
_OPEN_EVERY_BOX = "() => { " + _BOXES + """
    const open = boxes().filter(([, body]) => VIS(body)).map(([what]) => what);
    if (!open.length) boxes().forEach(([, , title]) => title.click());
    return {open, n: boxes().length}; }"""
_STILL_SHUT = "() => { " + _BOXES + """
    return boxes().filter(([, body]) => !VIS(body)).map(([what]) => what); }"""


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

        # 5. hidden solutions, answers and code: hidden until clicked, then visible. All
        # at once in the page (one click each, then one wait), not a round trip per box.
        before = page.evaluate(_OPEN_EVERY_BOX)
        assert before["open"] == [], f"open before a click on {name}: {before['open']}"
        page.wait_for_timeout(250)        # sphinx-togglebutton's transition
        shut = page.evaluate(_STILL_SHUT)
        assert shut == [], f"do not open when clicked on {name}: {shut}"

        # 6. one search field, and nothing heavy that the page does not use
        fields = page.evaluate("""[...document.querySelectorAll(
            '.search-button-field, form.bd-search, .search-button')]
            .filter(e => !e.closest('dialog, article, .bd-search-container') && e.getClientRects().length &&
                         getComputedStyle(e).visibility !== 'hidden').length""")
        assert fields == 1, f"{fields} search fields visible on {name} at 1280 px (besides the search page's own)"
        scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
        heavy = [s for s in scripts if any(k in s for k in ("fontawesome.js", "mathjax", "tex-chtml"))]
        assert heavy == [], f"{name} loads {heavy}"
        assert page.evaluate("typeof window.MathJax") == "undefined", f"{name} runs MathJax"
        has_math = n_math > 0
        math_css = page.locator("link[href*='math/mathjax.css']").count()
        assert math_css == (1 if has_math else 0), f"{name}: maths stylesheet linked {math_css}x"

        # 7. accessibility: no serious or critical findings of the pinned axe-core (light mode)
        serious = axe_serious(page)
        assert serious == [], f"axe {AXE_VERSION} findings on {name} (light): {serious}"

        # 8. weight: everything the page loads, lazy images included, within the budget
        load_everything(page)
        SIZES[name] = transfer_bytes(page)
        assert SIZES[name] <= PAGE_BUDGET, (
            f"{name} transfers {SIZES[name] / 1e6:.2f} MB > {PAGE_BUDGET / 1e6:.1f} MB: "
            f"{_largest_requests(page)}")

        # 9. the reader's system asks for dark mode: the theme follows, and axe-core's colour
        # rules find nothing serious or critical (step 7 ran every rule in light mode)
        page.emulate_media(color_scheme="dark")
        reading.settle(page)
        theme = page.evaluate("document.documentElement.dataset.theme")
        assert theme == "dark", f"{name} is in {theme!r} mode when the system asks for dark"
        serious = axe_serious(page, rules=COLOUR_RULES)
        assert serious == [], f"axe {AXE_VERSION} findings on {name} (dark): {serious}"

        # 10. what is inside the page, at 1280 px and then at 390 px (tests/reading.py)
        READING[name], problems = reading.read(page, name)
        assert problems == [], f"{len(problems)} reading problem(s) on {name}:\n" + "\n".join(problems)
        assert log.errors == [], f"console errors on {name} after the checks: {log.errors}"
    finally:
        page.context.close()


def _largest_requests(page, n=5):
    return page.evaluate(f"""performance.getEntriesByType('resource')
        .map(e => [e.transferSize || e.encodedBodySize || 0, e.name.split('/').pop().split('?')[0]])
        .sort((a, b) => b[0] - a[0]).slice(0, {n})
        .map(([s, u]) => u + ' ' + Math.round(s / 1000) + ' kB').join(', ')""")


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
    lines = [f"{SIZES[n] / 1e6:6.2f} MB  {n}" for n in sorted(SIZES)]
    print("\nPage transfer sizes (empty cache, uncompressed):\n" + "\n".join(lines) +
          f"\nlargest: {largest} ({SIZES[largest] / 1e6:.2f} MB) over {len(SIZES)} pages; "
          f"budget {PAGE_BUDGET / 1e6:.1f} MB")


def test_report_reading_metrics(site):
    """Print each page's reading measurements and write them to _build/reading/metrics.json."""
    if not READING:
        pytest.skip("page tests did not run")
    print("\nReading metrics:\n" + reading.report(READING))


def test_site_size_on_disk(site):
    """The whole built site within SITE_BUDGET bytes on disk."""
    files = [p for p in SITE.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:5]
    assert total <= SITE_BUDGET, (
        f"the site takes {total / 1e6:.1f} MB > {SITE_BUDGET / 1e6:.0f} MB; largest files: "
        + ", ".join(f"{p.relative_to(SITE)} {p.stat().st_size / 1e6:.2f} MB" for p in biggest))


def test_axe_core_is_the_pinned_release():
    """The vendored axe-core is the pinned file, with its licences beside it."""
    source = axe_source()
    assert f'version="{AXE_VERSION}"' in source.replace(" ", "") or AXE_VERSION in source[:400]
    for licence in ("LICENSE", "LICENSE-3RD-PARTY.txt"):
        assert (AXE.parent / licence).exists(), f"{licence} of axe-core is missing"


def _html(rel: str) -> str:
    return (SITE / rel).read_text(encoding="utf-8")


def test_no_id_repeats_within_a_page(site):
    """Every id occurs once per page (sphinx-exercise's exercise-content / solution-content did not)."""
    import collections
    import re

    repeats = {}
    for path in SITE.rglob("*.html"):
        if "_static" in path.parts or "_sources" in path.parts:
            continue
        counts = collections.Counter(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))
        dup = {k: n for k, n in counts.items() if n > 1}
        if dup:
            repeats[str(path.relative_to(SITE))] = dup
    assert repeats == {}, f"ids repeated within a page: {repeats}"


def test_unnumbered_pages_number_their_equations_from_one(site):
    """Pages without a section number (appendices, notation) count equations from (1) each."""
    import re

    for rel in ("book/notation.html", "book/appendix-performance.html",
                "book/appendix-parameters.html", "book/appendix-overstatements.html",
                "book/glossary.html"):
        numbers = re.findall(r'<span class="eqno">\((\d+(?:\.\d+)?)\)', _html(rel))
        if numbers:
            assert numbers[0] == "1", f"{rel}: equations start at ({numbers[0]})"
            assert numbers == [str(k) for k in range(1, len(numbers) + 1)], f"{rel}: {numbers}"
    assert re.findall(r'<span class="eqno">\((\d+)\)', _html("book/notation.html"))[:1] == ["1"], \
        "the notation page has no equation (1)"


def _bib_entries() -> dict[str, dict[str, str]]:
    """references.bib: key -> {field: value} (the flat fields this file uses)."""
    import re

    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    entries = {}
    for m in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", text, re.S):
        fields = dict((k.lower(), v.strip()) for k, v in
                      re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", m.group(2), re.M))
        entries[m.group(1).strip()] = fields
    return entries


def test_every_reference_with_a_doi_or_url_links_to_it(site):
    """Each bibliography entry with a doi or url field shows a link to it on the References page."""
    import html
    import re

    page = _html("book/references.html")
    hrefs = {html.unescape(h) for h in re.findall(r'<a class="reference external" href="([^"]+)"', page)}
    entries = _bib_entries()
    linked = {k: f for k, f in entries.items() if "doi" in f or "url" in f}
    assert len(linked) >= 18, f"only {len(linked)} of {len(entries)} references have a doi or url"
    missing = [k for k, f in linked.items()
               if (f"https://doi.org/{f['doi']}" if "doi" in f else f["url"]) not in hrefs]
    assert missing == [], f"references with a doi/url but no link on the page: {missing}"


def test_repository_link_only_when_a_url_is_set():
    """repository.url in _config.yml: set, a header button and the intro link it; unset, neither."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import course_site
    finally:
        sys.path.pop(0)
    url = "https://example.org/course/lstm-course"
    options, subs = course_site.repository_settings(url, {"show_toc_level": 2}, {})
    assert options["use_repository_button"] is True and options["repository_url"] == url
    assert subs["repository"] == f"[the course's repository]({url})"
    options, subs = course_site.repository_settings("", {"repository_url": "https://x/y/z"}, {})
    assert options["use_repository_button"] is False and "repository_url" not in options
    assert subs["repository"] == "the course's repository" and "](" not in subs["repository"]


MINI_CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = ["myst_parser", "course_site"]
myst_enable_extensions = ["substitution"]
html_theme = "sphinx_book_theme"
html_theme_options = {{"use_download_button": False, "navbar_persistent": []}}
templates_path = [{templates!r}]
"""


@pytest.mark.parametrize("url", ["", "https://github.com/example-org/lstm-course"])
def test_repository_link_both_ways(tmp_path, url):
    """A small book built with the course's extension: the link shows exactly when the URL is set."""
    import re

    (tmp_path / "conf.py").write_text(MINI_CONF.format(ext=str(ROOT / "book" / "_ext"),
                                                       templates=str(ROOT / "book" / "_templates")))
    (tmp_path / "_config.yml").write_text(f'repository:\n  url: "{url}"\n')
    (tmp_path / "index.md").write_text("# Get it\n\nClone {{ repository }}, then build.\n")
    out = tmp_path / "_build"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    page = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(https://github\.com/[^"]*)"', page)
    if url:
        assert f'<a class="reference external" href="{url}">' in page, "no link in the text"
        assert any(link.rstrip("/") == url for link in links), f"no header button: {links}"
    else:
        assert links == [] and "repository-button" not in page, f"a link with no URL set: {links}"
        assert "the course’s repository" in page or "the course's repository" in page


def test_repository_link_in_the_built_site(site):
    """The built site agrees with _config.yml: a link to the repository, or none at all."""
    import html
    import re

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import course_site
    finally:
        sys.path.pop(0)
    url = course_site.repository_url(ROOT)
    intro = _html("book/intro.html")
    words = html.unescape(re.sub(r"<[^>]+>", "", intro))
    for rel in ("book/intro.html", "book/01-vanilla-rnn-limits.html", "book/references.html"):
        buttons = re.findall(r'<a href="([^"]+)"[^>]*class="btn btn-sm btn-source-repository-button"', _html(rel))
        if url:
            assert url.rstrip("/") in [b.rstrip("/") for b in buttons], f"{rel}: no repository button"
        else:
            assert buttons == [], f"{rel}: a repository button with no URL set: {buttons}"
            assert "executablebooks/jupyter-book" not in _html(rel), f"{rel}: Jupyter Book's own repository"
    if url:
        assert f'href="{url}"' in intro, "the intro does not link the repository"
    else:
        assert re.search(r"the course[’']s\s+repository", words), "the intro does not name the repository"
    assert "python3.11 course.py build" in words and "python3.11 course.py test" in words, \
        "the intro lacks the two commands"


def test_search_ranks_the_section_first_and_shows_maths_as_text(browser, site):
    """Searching "forget gate" lists the section "The forget gate" first; snippets show no TeX."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        page.goto(f"{site}/search.html?q=forget+gate", wait_until="load")
        page.wait_for_function("document.querySelectorAll('#search-results li').length > 0 && "
                               "document.querySelector('#search-results p.search-summary, "
                               "#search-results h2')", timeout=20_000)
        page.wait_for_timeout(1500)   # snippets are filled in as each page is fetched
        titles = page.eval_on_selector_all("#search-results li > a", "as => as.map(a => a.innerText)")
        assert titles, "no search results"
        assert "forget gate" in titles[0].lower(), f"first result is {titles[0]!r}: {titles[:5]}"
        snippets = page.eval_on_selector_all("#search-results li p.context", "ps => ps.map(p => p.innerText)")
        assert snippets, "no snippets"
        raw = [t for t in snippets if any(k in t for k in ("\\(", "\\)", "\\[", "$$", "mjx"))]
        assert raw == [], f"snippets with TeX or MathJax markup: {raw[:3]}"
    finally:
        page.context.close()
