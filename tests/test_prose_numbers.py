"""No number typed into prose: every number a chapter states comes from code ({eval}) or is an
allowed definition or quotation (scripts/words.py, ALLOWED_NUMBERS, each entry with its reason).

Scanned: Markdown outside math, roles, code, labels and link targets, in every notebook of book/.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from words import ALLOWED_NUMBERS, typed_in_notebook, typed_numbers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_number_typed_into_prose(notebook):
    found = typed_in_notebook(notebook)
    assert found == [], f"{notebook.stem}: {len(found)} number(s) typed into prose: {found[:8]}"


def test_the_scan():
    md = ("After 1,000 steps {eval}`ch2.x` is left, $n = 64$, `T = 5`; Step 2 keeps 1 of 0 values.\n"
          "1. a list item\n\nThe source reports 90.5% by epoch 5 (cited).\n\n```python\nx = 42\n```")
    found = typed_numbers(md)
    assert len(found) == 2 and "1,000" in found[0] and "epoch 5" in found[1]
    assert all(len(entry) == 3 and entry[2] for entry in ALLOWED_NUMBERS)   # every entry says why
