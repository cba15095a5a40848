"""How long each chapter reads (scripts/words.py): the main path stays within its budget.

The main path is the prose outside dropdowns, exercises, solutions and code; a
math span or a role counts as one word. Every numbered chapter of _toc.yml,
new ones included, keeps it at or below MAIN_PATH_BUDGET words.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from words import MAIN_PATH_BUDGET, _split, _words, count, numbered_chapters  # noqa: E402

@pytest.mark.parametrize("notebook", numbered_chapters(), ids=lambda p: p.stem)
def test_main_path_within_budget(notebook):
    c = count(notebook)
    print(f"{notebook.stem}: main path {c['main']:,} words, total {c['total']:,}")
    assert c["main"] <= MAIN_PATH_BUDGET, (
        f"{notebook.stem}: the main path has {c['main']:,} words, the budget is {MAIN_PATH_BUDGET:,}: "
        f"move derivations and asides into dropdowns, material off the path to an appendix")


def test_counting_rules():
    md = ("Two words $x^2 + y$ {eval}`ch1.x` `code`\n\n"
          ":::{dropdown} Derivation\nhidden words here\n:::\n\n"
          "```{exercise}\n:label: ex-1\nDo this thing\n```\n\n"
          "```python\nprint('no words')\n```\n\n"
          "$$\na + b\n$$ (eq-x)\n\nEnd.")
    parts = list(_split(md))
    main = _words("\n".join(t for hidden, t in parts if not hidden))
    hidden = _words("\n".join(t for h, t in parts if h))
    assert main == 2 + 1 + 1 + 1 + 1 + 1       # "Two words", math, role, code, display math, "End"
    assert hidden == 3 + 3                       # the dropdown's and the exercise's words
