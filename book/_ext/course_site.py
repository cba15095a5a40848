"""Small fixes to the generated site so that it runs offline without errors.

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
from importlib import resources
from pathlib import Path


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


def setup(app):
    app.add_js_file("course.js", priority=1)
    app.add_css_file("explorer.css")
    app.connect("build-finished", _copy_explorer_css)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("html-page-context", _fix_citation_list, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
