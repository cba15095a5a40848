"""Citations: every {bib} in the book names exactly one entry of references.bib, and every
entry is cited somewhere (an uncited entry is dropped or cited where it belongs)."""
import json
import re
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_prose import _bibliography, match_citation  # noqa: E402

BIB = ROOT / "references.bib"


def _pages():
    for p in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(p.read_text(encoding="utf-8"))
        yield p.name, "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for p in sorted((ROOT / "book").glob("*.md")):
        yield p.name, p.read_text(encoding="utf-8")


def _entries():
    return _bibliography(str(BIB), BIB.stat().st_mtime)


def test_every_citation_names_one_entry():
    bad = [(page, text, match_citation(text, _entries())) for page, md in _pages()
           for text in re.findall(r"\{bib\}`([^`]*)`", md) if len(match_citation(text, _entries())) != 1]
    assert bad == [], bad


def test_every_entry_is_cited():
    cited = {key for _, md in _pages() for text in re.findall(r"\{bib\}`([^`]*)`", md)
             for key in match_citation(text, _entries())}
    uncited = sorted(key for key, _, _ in _entries() if key not in cited)
    assert uncited == [], f"entries of references.bib cited nowhere: {uncited}"


def test_match_citation():
    entries = [("a1997", ["hochreiter", "schmidhuber"], "1997"), ("b2000", ["gers", "schmidhuber", "cummins"], "2000"),
               ("c2000", ["gers"], "2000")]
    assert match_citation("Hochreiter and Schmidhuber (1997)", entries) == ["a1997"]
    assert match_citation("Gers et al., 2000", entries) == ["b2000"]
    assert match_citation("Gers (2000)", entries) == ["c2000"]
    assert match_citation("Hochreiter et al. (1997)", entries) == []       # two authors: no "et al."
    assert match_citation("Schmidhuber (1997)", entries) == []             # not the first author
