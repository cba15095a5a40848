"""Numbers and citations in the chapters' prose, the same on the website as in JupyterLab.

Two roles, written so that a notebook's Markdown reads the same in JupyterLab
(jupyterlab-myst, with or without a kernel) and on this website:

``{eval}`ch2.half_life```
    A number the chapter computed. In the notebook, ``ch2.put("half_life",
    value, ".1f")`` (``lstm_lib.viz.prose``) stored the formatted text and
    displayed it as a record output; JupyterLab evaluates the expression in the
    kernel or reads it from the cell's ``user_expressions`` metadata. Here the
    role reads the record from the notebook's committed outputs: the build
    executes nothing. An expression with no record is a build warning (and the
    strict build fails).

``{bib}`Hochreiter and Schmidhuber (1997)```
    A citation written as the author-year text a reader sees. jupyterlab-myst
    does not know the role and shows the text as it is; here the text is
    matched against ``references.bib`` (first author's surname, the other
    surnames or "et al.", and the year), and becomes a link to the entry in the
    bibliography, with the full reference as its tooltip. Text that matches no
    entry, or more than one, is a build warning.
"""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

from lstm_lib.viz import prose

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------- numbers

@lru_cache(maxsize=64)
def _records(path: str, mtime: float) -> dict:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return {key: text for _, key, text in prose.records(nb)}


class EvalRole(SphinxRole):
    """``{eval}`chN.name```: the text stored by ``chN.put("name", ...)`` in this notebook."""

    def run(self):
        expr = self.text.strip()
        path = Path(self.env.doc2path(self.env.docname))
        problem = None
        if not prose.EXPRESSION.match(expr):
            problem = (f"{{eval}}`{expr}`: expected 'prefix.name' naming a value put with "
                       f"Numbers(prefix).put('name', ...)")
        elif path.suffix != ".ipynb":
            problem = f"{{eval}}`{expr}`: only notebooks hold computed values"
        else:
            values = _records(str(path), path.stat().st_mtime)
            if expr not in values:
                problem = (f"{{eval}}`{expr}`: no value under this name in the notebook's "
                           f"outputs; put it in a code cell and re-execute the notebook")
        if problem:
            logger.warning(problem, location=self.get_location(), type="course", subtype="eval")
            return [nodes.problematic(self.rawtext, self.rawtext)], []
        text = values[expr]
        return [nodes.inline(text, text, classes=["course-number"])], []


# ----------------------------------------------------------------- citations

def _fold(s: str) -> str:
    """Lowercase letters only, accents removed ("J{\\"u}rgen" and "Jürgen" alike)."""
    s = unicodedata.normalize("NFKD", s.replace("{", "").replace("}", "").replace('\\"', ""))
    return "".join(c for c in s if c.isalpha()).lower()


@lru_cache(maxsize=4)
def _bibliography(path: str, mtime: float) -> list[tuple[str, list[str], str]]:
    """(key, [folded surnames], year) of every entry of a .bib file."""
    from pybtex.database import parse_file

    data = parse_file(path)
    out = []
    for key, entry in data.entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        surnames = [_fold(" ".join(p.prelast_names + p.last_names)) for p in people]
        out.append((key, surnames, entry.fields.get("year", "")))
    return out


_YEAR = re.compile(r"(\d{4})[a-z]?\)?\s*$")


def match_citation(text: str, entries) -> list[str]:
    """Keys of the entries whose authors and year the author-year ``text`` names."""
    m = _YEAR.search(text)
    if not m:
        return []
    year = m.group(1)
    names = text[:m.start()].strip().rstrip("(,").strip()
    et_al = bool(re.search(r"\bet al\.?$", names))
    names = re.sub(r"\s*\bet al\.?$", "", names)
    parts = [_fold(p) for p in re.split(r",\s*|\s+and\s+|\s*&\s*", names) if p.strip()]
    keys = []
    for key, surnames, entry_year in entries:
        if entry_year != year or not parts or not surnames:
            continue
        if et_al:
            ok = len(surnames) >= 3 and surnames[:len(parts)] == parts
        else:
            ok = surnames == parts
        if ok:
            keys.append(key)
    return keys


class bib_citation(nodes.Inline, nodes.TextElement):
    """A citation whose link is filled in once the bibliography's ids are known."""


class BibRole(SphinxRole):
    """``{bib}`Hochreiter and Schmidhuber (1997)```: author-year text linked to its entry."""

    def run(self):
        bibfiles = self.config.bibtex_bibfiles
        path = Path(self.env.srcdir) / bibfiles[0]
        keys = match_citation(self.text, _bibliography(str(path), path.stat().st_mtime))
        if len(keys) != 1:
            what = "no entry" if not keys else f"{len(keys)} entries ({', '.join(keys)})"
            logger.warning(f"{{bib}}`{self.text}`: {what} of {bibfiles[0]} has these authors "
                           f"and this year (write 'Surname (Year)', 'A and B (Year)' or "
                           f"'A et al. (Year)' as in the entry)",
                           location=self.get_location(), type="course", subtype="bib")
            return [nodes.problematic(self.rawtext, self.rawtext)], []
        return [bib_citation(self.rawtext, self.text, key=keys[0])], []


def _resolve_citations(app, doctree, fromdocname):
    """Replace every bib_citation by a link to its entry in the bibliography."""
    domain = app.env.get_domain("cite")
    by_key = {c.key: c for c in domain.citations}
    for node in list(doctree.findall(bib_citation)):
        citation = by_key.get(node["key"])
        text = node.astext()
        if citation is None:
            logger.warning(f"{{bib}}`{text}`: entry {node['key']} is in no bibliography "
                           f"(the references page lists every entry with :all:)",
                           location=node, type="course", subtype="bib")
            node.replace_self(nodes.Text(text))
            continue
        uri = app.builder.get_relative_uri(fromdocname, citation.bibliography_key.docname)
        ref = nodes.reference("", "", internal=True, refuri=f"{uri}#{citation.citation_id}",
                              classes=["course-citation"])
        if citation.tooltip_entry is not None:
            ref["reftitle"] = citation.tooltip_entry.text.render_as("text")
        ref += nodes.Text(text)
        node.replace_self(ref)


def setup(app):
    # override myst-nb's eval role, which needs a kernel at build time
    app.add_role("eval", EvalRole(), override=True)
    app.add_role("bib", BibRole())
    app.add_node(bib_citation)
    app.connect("doctree-resolved", _resolve_citations)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
