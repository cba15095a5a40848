"""The generated site as the course wants it: offline, light, accessible.

Fixes and trims, each measured by tests/test_site.py:

* Mathematics is typeset at build time. MathJax 3 (the distribution that
  sphinx-mathjax-offline installs) runs once per build under Node.js (the one
  Playwright ships, else ``node`` on PATH; see ``mathjax_render.js``); pages
  carry its CommonHTML output with assistive MathML, plus one stylesheet and
  the web fonts it names. No MathJax script is loaded, pages without maths
  load nothing for maths, and only the fonts (not the 24 MB distribution) are
  copied. A TeX error fails the build.
* Font Awesome's 1.5 MB JavaScript is not loaded (the theme's stylesheet and
  web font draw the same icons); the search scripts and index load on the
  search page only; sphinx-design's files only where a page uses it. Files no
  page loads are removed from the output (source maps, the unused JavaScript,
  the theme's translations, TrueType copies of the web fonts); the notebooks
  offered for download come without their outputs (running them makes them).
* Font Awesome's web fonts are cut to the glyphs the site draws (preferred by
  unicode-range; the full fonts stay as the fallback), and the rules for icon
  classes and Bootstrap classes (in the theme's stylesheet) and sphinx-design
  classes that no page or script names are dropped from the output's copies of
  those stylesheets.
* Equations of unnumbered pages (appendices, reference pages) are numbered
  per page from (1), not in one counter shared across pages.
* sphinx-exercise gives every exercise and solution body the same id; each
  gets its own. MyST-NB's code toggles are named by their visible text.
* The repository link (``repository.url`` in _config.yml) is shown only when
  a URL is set: the header button and the intro's ``{{ repository }}``.
* Jupyter Book 1 always loads sphinx-thebe, whose configuration script is
  added twice (a "THEBE_JS_URL has already been declared" page error) and
  names a CDN. The course has no live-code buttons, so both are dropped.
* pydata-sphinx-theme logs "Got invalid theme mode" when the reader has no
  stored preference; ``course.js`` sets the default ("auto") first.
* docutils marks the bibliography ``<div role="list">`` although its entries
  are not list items (axe-core: aria-required-children, critical); the role
  is removed.
* The kernel-free explorers' style ships with ``lstm_lib.viz`` (its
  ``static/explorer.css``); it is copied into the site's ``_static`` and linked
  from every page.
"""
from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
MATH_CSS = "math/mathjax.css"          # under _static
MATH_FONTS = "fonts"                   # beside the stylesheet


# ------------------------------------------------------------------ small fixes

def _drop_thebe(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    kept = []
    for script in files:
        body = getattr(script, "attributes", {}).get("body", "") or ""
        name = getattr(script, "filename", None) or str(script)
        if "THEBE_JS_URL" in body or str(name).endswith("sphinx-thebe.js"):
            continue
        kept.append(script)
    context["script_files"] = kept


def _fix_citation_list(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'role="list" class="citation-list"' in body:
        context["body"] = body.replace('<div role="list" class="citation-list">',
                                       '<div class="citation-list">')


def _copy_explorer_css(app, exception):
    if exception is None and app.builder.format == "html":
        css = resources.files("lstm_lib.viz") / "static" / "explorer.css"
        (Path(app.outdir) / "_static" / "explorer.css").write_text(css.read_text(encoding="utf-8"))


_REPEATED_IDS = ("exercise-content", "solution-content")


def _fix_body(app, pagename, templatename, context, doctree):
    """Ids that repeat and names that hide the visible text.

    sphinx-exercise gives every exercise body id="exercise-content": they are
    numbered per page. MyST-NB names each "Show code cell source" toggle "Toggle
    hidden content", which is not what it shows (axe-core:
    label-content-name-mismatch); the visible text names it instead.
    """
    body = context.get("body")
    if not body:
        return
    for name in _REPEATED_IDS:
        count = iter(range(1, 10_000))
        body = re.sub(f'id="{name}"', lambda m, name=name: f'id="{name}-{next(count)}"', body)
    body = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    context["body"] = body


# ---------------------------------------------------------- assets: only what is used

def _filename(asset) -> str:
    return str(getattr(asset, "filename", None) or asset)


def _trim_assets(app, pagename, templatename, context, doctree):
    """No MathJax script (maths is typeset at build time); sphinx-design only where used."""
    body = context.get("body") or ""
    uses_design = 'class="sd-' in body or " sd-" in body
    uses_tabs = "sd-tab-set" in body
    scripts = []
    for script in context.get("script_files") or []:
        name = _filename(script)
        text = getattr(script, "attributes", {}).get("body", "") or ""
        if name == app.config.mathjax_path or text.startswith("window.MathJax"):
            continue
        if name.endswith("design-tabs.js") and not uses_tabs:
            continue
        scripts.append(script)
    context["script_files"] = scripts
    context["css_files"] = [c for c in context.get("css_files") or []
                            if not _filename(c).endswith("sphinx-thebe.css")
                            and (uses_design or not _filename(c).endswith("sphinx-design.min.css"))]


_SCRIPT = re.compile(r'\s*<script\b[^>]*\bsrc="(?P<src>[^"]*)"[^>]*>\s*</script>')


def strip_scripts(markup, *names):
    """A Jinja filter: ``markup`` without the <script src> tags whose file name is one of ``names``."""
    def keep(m):
        src = m.group("src").split("?")[0]
        return "" if src.rsplit("/", 1)[-1] in names else m.group(0)
    return _SCRIPT.sub(keep, str(markup))


def _register_filters(app):
    if app.builder.format == "html" and hasattr(app.builder, "templates"):
        app.builder.templates.environment.filters["course_strip_scripts"] = strip_scripts


_UNUSED = ("_static/scripts/fontawesome.js", "_static/scripts/fontawesome.js.map",
           "_static/scripts/fontawesome.js.LICENSE.txt", "_static/locales",
           "_static/mathjax")


def strip_outputs(notebook: dict) -> dict:
    """A notebook as the download button offers it: the cells and their metadata (the
    prose's values included), without outputs, execution counts or saved widget state."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def _prune_output(app, exception):
    """Remove from the output what no page loads (the site must stay small on disk).

    The notebooks offered for download (``_sources``) come without outputs: the
    pages show them, and running the notebook makes them again.
    """
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for path in (out / "_sources").rglob("*.ipynb"):
        notebook = strip_outputs(json.loads(path.read_text(encoding="utf-8")))
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for rel in _UNUSED:
        path = out / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for pattern in ("_static/**/*.map", "_static/vendor/fontawesome/webfonts/*.ttf"):
        for path in out.glob(pattern):
            path.unlink()


# ------------------------------------------------------------ icons: the glyphs used

ICON_CSS = "course-icons.css"           # under _static, linked from every page
_FA_FONTS = {  # (family, weight) of the theme's Font Awesome faces -> their TrueType file
    ("Font Awesome 6 Free", 900): "fa-solid-900",
    ("Font Awesome 6 Free", 400): "fa-regular-400",
    ("Font Awesome 6 Brands", 400): "fa-brands-400",
}
_PUA = re.compile("[\ue000-\uf8ff]")


def used_icon_codepoints(css_texts, page_texts) -> set[int]:
    """The Font Awesome code points the site can draw.

    Those the stylesheets name outside Font Awesome's own table of icon classes
    (admonition and link icons: the theme's --pst-icon-* variables), and those of
    every ``fa-NAME`` class that a page or script of the site uses.
    """
    table, used = {}, set()
    # Font Awesome's table: ".fa-a:before,.fa-b:before{content:"\f002"}" (one or more names)
    rule = re.compile(r'((?:\.fa-[a-z0-9-]+::?before,?)+)\{content:"(\\[0-9a-fA-F]+|[^"])"\}')
    for css in css_texts:
        for selectors, char in rule.findall(css):
            point = int(char[1:], 16) if char.startswith("\\") else ord(char)
            for name in re.findall(r"\.fa-([a-z0-9-]+)::?before", selectors):
                table[name] = point
        rest = rule.sub("", css)
        used.update(ord(c) for c in _PUA.findall(rest))
        used.update(int(h, 16) for h in re.findall(r'"\\(f[0-9a-fA-F]{3}|e[0-9a-fA-F]{3})"', rest))
    for text in page_texts:
        for name in set(re.findall(r"\bfa-([a-z0-9-]+)", text)):
            if name in table:
                used.add(table[name])
    return used


def _subset_icon_fonts(app, exception):
    """Font Awesome's web fonts cut to the glyphs the site uses, preferred by unicode-range.

    The theme's full fonts stay as the fallback for any other glyph (a browser
    fetches them only if a page draws one), so no icon can go missing.
    """
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    out = Path(app.outdir)
    static = out / "_static"
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    css_texts = [p.read_text(encoding="utf-8", errors="replace") for p in static.rglob("*.css")
                 if p.name != ICON_CSS]
    page_texts = [p.read_text(encoding="utf-8", errors="replace")
                  for pattern in ("**/*.html", "_static/**/*.js") for p in out.glob(pattern)
                  if "_sources" not in p.parts]
    wanted = used_icon_codepoints(css_texts, page_texts)
    faces = []
    for (family, weight), stem in _FA_FONTS.items():
        source = fonts / f"{stem}.ttf"
        if not source.exists():
            continue
        options = subset.Options()
        options.flavor = "woff"
        font = subset.load_font(str(source), options)
        have = set(font.getBestCmap()) & wanted
        if not have:
            continue
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(have))
        subsetter.subset(font)
        name = f"course-{stem}.woff"
        subset.save_font(font, str(fonts / name), options)
        ranges = ",".join(f"U+{c:04X}" for c in sorted(have))
        faces.append(f'@font-face {{ font-family: "{family}"; font-style: normal; '
                     f'font-weight: {weight}; font-display: block; '
                     f'src: url("vendor/fontawesome/webfonts/{name}") format("woff"); '
                     f"unicode-range: {ranges}; }}")
    (static / ICON_CSS).write_text(
        "/* Font Awesome cut to the glyphs this site uses (book/_ext/course_site.py); the\n"
        "   theme's full fonts remain the fallback for any other code point. */\n"
        + "\n".join(faces) + "\n", encoding="utf-8")


# ------------------------------------------------------- stylesheets: the classes used

# Bootstrap's components and utility classes (inside the theme's stylesheet) by prefix:
# a rule stays when every class it names with one of these prefixes occurs, as a word,
# in a page or a script of the site (scripts name the classes they add in full).
_BOOTSTRAP = (
    "accordion", "alert-", "card-", "carousel", "form-", "list-group", "modal", "offcanvas",
    "pagination", "placeholder", "progress", "spinner", "table-", "toast",
    "col-", "offset-", "g-", "gx-", "gy-", "row-cols-", "order-", "text-", "bg-", "border-",
    "m-", "mt-", "mb-", "ms-", "me-", "mx-", "my-", "p-", "pt-", "pb-", "ps-", "pe-", "px-",
    "py-", "d-", "flex-", "justify-content-", "align-", "gap-", "w-", "h-", "fs-", "fw-",
    "lh-", "link-", "rounded-", "shadow-", "position-", "top-", "bottom-", "start-", "end-",
    "translate-", "overflow-", "opacity-", "ratio-", "sticky-", "fixed-", "visually-",
    "float-", "user-select-", "vw-", "vh-", "mw-", "mh-", "min-", "object-fit-",
    "focus-ring", "icon-link",
)
# (stylesheet under _static, class prefixes): Font Awesome's table of ~1,900 icon
# classes and Bootstrap inside the theme's stylesheet, sphinx-design's classes.
_PURGED = (("styles/pydata-sphinx-theme.css", ("fa-", *_BOOTSTRAP)),
           ("sphinx-design.min.css", ("sd-",)))


def _css_items(css, i=0):
    """Split CSS text into top-level items: (prelude, body) or ('', raw) for statements."""
    out, n = [], len(css)
    while i < n:
        j = css.find("{", i)
        k = css.find(";", i)
        if j == -1:
            rest = css[i:].strip()
            if rest: out.append(("", rest))
            break
        if k != -1 and k < j and css[i:k].lstrip().startswith("@"):   # @charset/@import
            out.append(("", css[i:k + 1])); i = k + 1; continue
        depth, m = 0, j
        while m < n:
            c = css[m]
            if c == "{": depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0: break
            elif c in "\"'":
                m = css.index(c, m + 1)
            m += 1
        out.append((css[i:j].strip(), css[j + 1:m]))
        i = m + 1
    return out

def purge_css(css: str, prefix: str, used: set[str]) -> str:
    """``css`` without the selectors that name a class ``.{prefix}NAME`` whose NAME is not in ``used``."""
    token = re.compile(r"\." + re.escape(prefix) + r"([a-zA-Z0-9_-]+)")
    parts = []
    for prelude, body in _css_items(css):
        if not prelude:
            parts.append(body); continue
        if prelude.startswith("@"):
            if prelude.startswith(("@media", "@supports", "@layer", "@container")):
                inner = purge_css(body, prefix, used)
                if inner.strip(): parts.append(prelude + "{" + inner + "}")
            else:
                parts.append(prelude + "{" + body + "}")
            continue
        sels = [s for s in re.split(r",(?![^()]*\))", prelude)
                if all(t in used for t in token.findall(s))]
        if sels:
            parts.append(",".join(sels) + "{" + body + "}")
    return "".join(parts)


def _site_texts(out: Path) -> list[str]:
    """The text of every page and script of the built site."""
    return [path.read_text(encoding="utf-8", errors="replace")
            for pattern in ("**/*.html", "_static/**/*.js") for path in out.glob(pattern)
            if "_sources" not in path.parts]


def used_words(texts: list[str], prefix: str) -> set[str]:
    """Every NAME written as ``{prefix}NAME`` in ``texts`` (a superset of the classes used,
    scripts that add classes included)."""
    word = re.compile(re.escape(prefix) + r"([a-zA-Z0-9_-]+)")
    return {name for text in texts for name in word.findall(text)}


def _purge_stylesheets(app, exception):
    """The theme's and sphinx-design's stylesheets without rules for classes no page uses."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    texts = _site_texts(out)
    for rel, prefixes in _PURGED:
        path = out / "_static" / rel
        if path.exists():
            css = path.read_text(encoding="utf-8")
            for prefix in prefixes:
                css = purge_css(css, prefix, used_words(texts, prefix))
            path.write_text(css, encoding="utf-8")


# ------------------------------------------------------------ maths, typeset at build time

def mathjax_dir() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError("course_site: MathJax not found (the package sphinx-mathjax-offline "
                             "from requirements.txt provides it)")
    path = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    if not (path / "node-main.js").exists():
        raise ExtensionError(f"course_site: expected MathJax 3 with node-main.js in {path}")
    return path


def node_binary() -> str:
    """Playwright's Node.js (installed with the course's requirements), else `node` on PATH."""
    spec = importlib.util.find_spec("playwright")
    if spec is not None and spec.origin:
        driver = Path(spec.origin).parent / "driver"
        for name in ("node", "node.exe"):
            if (driver / name).exists():
                return str(driver / name)
    found = shutil.which("node")
    if found:
        return found
    raise ExtensionError("course_site: typesetting the maths needs Node.js: Playwright's (from "
                         "requirements.txt) or `node` on PATH; neither was found")


def typeset(items: list[tuple[str, bool]], font_url: str = MATH_FONTS) -> tuple[list[str], str, list[str]]:
    """TeX sources (tex, display) -> (CommonHTML markup for each, stylesheet, TeX errors)."""
    request = json.dumps({"items": [{"tex": t, "display": d} for t, d in items], "fontURL": font_url})
    run = subprocess.run([node_binary(), str(HERE / "mathjax_render.js"), str(mathjax_dir())],
                         input=request, capture_output=True, text=True, encoding="utf-8")
    if run.returncode != 0:
        raise ExtensionError(f"course_site: MathJax failed:\n{run.stderr[-3000:]}")
    out = json.loads(run.stdout)
    return out["html"], out["css"], out["errors"]


_INLINE = re.compile(r'(<span class="math notranslate nohighlight">)\\\((?P<tex>.*?)\\\)</span>', re.S)
_DISPLAY = re.compile(
    r'(?P<open><div class="[^"]*\bmath notranslate nohighlight\b[^"]*"[^>]*>)'
    r'(?P<eqno>\s*<span class="eqno">.*?</span>)?\s*\\\[(?P<tex>.*?)\\\]\s*</div>', re.S)


_NEEDLESS = re.compile(r' xmlns="http://www.w3.org/1998/Math/MathML"| unselectable="on"'
                       r'| data-mjx-texclass="[A-Z]*"|(?<=jax="CHTML") style="position: relative;"'
                       r'|(?<=jax="CHTML" display="true") style="position: relative;"')
# what the containers' inline style said, once in the stylesheet
_CONTAINER_CSS = 'mjx-container[jax="CHTML"] {\n  position: relative;\n}'


def _lighter(markup: str) -> str:
    """MathJax's output less what no browser reads: the MathML namespace (implied in HTML),
    Internet Explorer's unselectable and MathJax's own TeX class notes; the containers'
    ``position: relative`` moves to the stylesheet (``_CONTAINER_CSS``)."""
    return _NEEDLESS.sub("", markup)


def _css_blocks(css: str) -> list[str]:
    return [b.strip() + "\n}" for b in css.split("\n}") if b.strip()]


def typeset_html(pages: dict[str, str]) -> tuple[dict[str, str], str, list[str]]:
    """Pages' HTML with every \\(..\\) and \\[..\\] of Sphinx's maths markup typeset.

    Everywhere in the page: the text, the page's table of contents, the navigation
    and the links to the previous and next page. One MathJax run for all pages.
    Returns (the pages that had maths, now typeset; the stylesheet; TeX errors).
    """
    found = {}
    for name, text in pages.items():
        items = [(html.unescape(m.group("tex")), False) for m in _INLINE.finditer(text)]
        items += [(html.unescape(m.group("tex")), True) for m in _DISPLAY.finditer(text)]
        if items:
            found[name] = items
    if not found:
        return {}, "", []
    unique = list(dict.fromkeys(item for items in found.values() for item in items))
    rendered, css, errors = typeset(unique)
    done = {key: _lighter(markup) for key, markup in zip(unique, rendered)}
    css = css + "\n\n" + _CONTAINER_CSS
    out = {}
    for name in found:
        text = _INLINE.sub(lambda m: m.group(1) + done[(html.unescape(m.group("tex")), False)]
                           + "</span>", pages[name])
        out[name] = _DISPLAY.sub(lambda m: m.group("open") + (m.group("eqno") or "")
                                 + done[(html.unescape(m.group("tex")), True)] + "</div>", text)
    return out, css, errors


def _typeset_site(app, exception):
    """Typeset the maths of every page written (pages typeset by an earlier build have none left)."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    files = {str(p): p for p in out.rglob("*.html") if not {"_static", "_sources"} & set(p.parts)}
    pages = {name: p.read_text(encoding="utf-8") for name, p in files.items()}
    typeset_pages, css, errors = typeset_html(pages)
    for err in errors:
        logger.warning(f"TeX error: {err}")
    sheet = out / "_static" / MATH_CSS
    for name, text in typeset_pages.items():
        path = files[name]
        href = Path(os.path.relpath(sheet, path.parent)).as_posix()
        if MATH_CSS not in text:
            text = text.replace("</head>", f'    <link rel="stylesheet" type="text/css" href="{href}" />\n  </head>', 1)
        path.write_text(text, encoding="utf-8")
    store = app.builder.__dict__.setdefault("_course_math_css", {})
    for block in _css_blocks(css):
        store.setdefault(block, None)


def _write_math_assets(app, exception):
    """One stylesheet for every character the site uses (kept from earlier builds too), and its fonts."""
    if exception is not None or app.builder.format != "html":
        return
    store = getattr(app.builder, "_course_math_css", None)
    target = Path(app.outdir) / "_static" / MATH_CSS
    if not store:
        return
    blocks = dict.fromkeys(_css_blocks(target.read_text(encoding="utf-8"))) if target.exists() else {}
    blocks.update(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    css = "\n\n".join(blocks) + "\n"
    target.write_text(css, encoding="utf-8")
    fonts = target.parent / MATH_FONTS
    fonts.mkdir(exist_ok=True)
    source = mathjax_dir() / "output" / "chtml" / "fonts" / "woff-v2"
    for name in sorted(set(re.findall(rf'url\("{MATH_FONTS}/([^"]+)"\)', css))):
        shutil.copyfile(source / name, fonts / name)


# ------------------------------------------------------------------------- numbering

def _number_equations_per_page(app, env):
    """Equations of pages without a section number count from (1) on each page.

    Sphinx numbers the equations of all unnumbered pages in one counter (the
    notation page would start at (3) after the performance appendix's two).
    Returns the pages renumbered (to be written again).
    """
    changed = []
    for docname in sorted(env.toc_fignumbers):
        numbers = env.toc_fignumbers[docname].get("displaymath")
        if not numbers or any(len(n) != 1 for n in numbers.values()):
            continue
        for k, ident in enumerate(sorted(numbers, key=lambda i: numbers[i]), 1):
            if numbers[ident] != (k,):
                numbers[ident] = (k,)
                changed.append(docname)
    return sorted(set(changed))


# ---------------------------------------------------------------------- repository link

def repository_url(srcdir) -> str:
    """``repository.url`` of the book's _config.yml ("" when unset).

    Read from the file itself: Jupyter Book would otherwise fill in its own
    repository's address as a default.
    """
    import yaml

    path = Path(srcdir) / "_config.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return str(((data or {}).get("repository") or {}).get("url") or "").strip()


def repository_settings(url: str, theme_options: dict, substitutions: dict) -> tuple[dict, dict]:
    """Theme options and MyST substitutions for a repository URL ("": no link anywhere)."""
    options = dict(theme_options or {})
    options["use_repository_button"] = bool(url)
    if url:
        options["repository_url"] = url
    else:
        options.pop("repository_url", None)
    subs = dict(substitutions or {})
    subs["repository"] = f"[the course's repository]({url})" if url else "the course's repository"
    return options, subs


def _repository(app, config):
    options, subs = repository_settings(repository_url(app.srcdir), config.html_theme_options,
                                        config.myst_substitutions)
    config.html_theme_options = options
    config.myst_substitutions = subs


def setup(app):
    app.add_js_file("course.js", priority=1)
    app.add_css_file("explorer.css")
    app.add_css_file(ICON_CSS)
    app.connect("config-inited", _repository)
    app.connect("builder-inited", _register_filters)
    # after Sphinx's own numbering (TocTreeCollector, on the same event at priority 500)
    app.connect("env-get-updated", _number_equations_per_page, priority=900)
    app.connect("build-finished", _copy_explorer_css)
    app.connect("build-finished", _typeset_site)
    app.connect("build-finished", _write_math_assets)
    app.connect("build-finished", _subset_icon_fonts)
    app.connect("build-finished", _purge_stylesheets)
    app.connect("build-finished", _prune_output)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("html-page-context", _trim_assets, priority=900)
    app.connect("html-page-context", _fix_citation_list, priority=900)
    app.connect("html-page-context", _fix_body, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
