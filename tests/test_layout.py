"""The package's architecture, read from the source: arrows point one way.

``lstm_lib`` has four rooms, told apart by their folder:

    core      lstm_lib/*.py          the LSTM a learner came for
    chapters  lstm_lib/chapters/     one module per chapter's measurements and explorers
    lab       lstm_lib/lab/          tasks, training, experiments, command lines, benchmark
    viz       lstm_lib/viz/          explorers, plotting style, diagrams

and these rules, checked on every ``import`` statement of every module, the ones
inside functions included (a late import is still an arrow):

* core imports only core, numpy, torch and the standard library;
* viz imports nothing of lstm_lib outside viz;
* lab imports only lab and core;
* chapters import core, lab and viz, never another chapter;
* no cycle between modules;
* no private name (``_x``) is taken from another module, neither by
  ``from m import _x`` nor as ``m._x``;
* the numpy half of the core (checks, reference, jacobians) imports without torch.

The checker is plain ``ast``: it reads files and runs none of them. Its own
test builds a small package that breaks every rule and expects to hear of each.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "lstm_lib"
ROOMS = ("chapters", "lab", "viz")            # subpackages; every other module is core
CORE_THIRD_PARTY = {"numpy", "torch"}
MAY_IMPORT = {"core": {"core"}, "viz": {"viz"}, "lab": {"lab", "core"},
              "chapters": {"chapters", "core", "lab", "viz"}}
TORCH_FREE = ("lstm_lib.checks", "lstm_lib.reference", "lstm_lib.jacobians")


# --------------------------------------------------------------------------- reading the source

@dataclass
class Module:
    name: str                 # dotted, e.g. "lstm_lib.chapters.memory"; a package is its __init__
    path: Path
    is_package: bool
    imports: list = field(default_factory=list)      # (line, target module, names taken or None)
    externals: list = field(default_factory=list)    # (line, top-level name outside the package)
    attributes: list = field(default_factory=list)   # (line, module, attribute) for alias.attr


def room(name: str, package: str = PACKAGE) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "core"


def read_package(src: Path, package: str = PACKAGE) -> dict[str, Module]:
    """Every module of ``src/package`` with the imports it makes, wherever they stand."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = Module(".".join(parts), path, is_package)
    for mod in found.values():
        _read_imports(mod, found, package)
    return found


def _read_imports(mod: Module, modules: dict, package: str) -> None:
    tree = ast.parse(mod.path.read_text(), filename=str(mod.path))
    here = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    aliases = {}                                      # local name -> lstm_lib module it binds
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == package or a.name.startswith(package + "."):
                    mod.imports.append((node.lineno, a.name, None))
                    if a.asname:
                        aliases[a.asname] = a.name
                else:
                    mod.externals.append((node.lineno, a.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            if not (source == package or source.startswith(package + ".")):
                mod.externals.append((node.lineno, source.split(".")[0]))
                continue
            taken = []
            for a in node.names:
                sub = f"{source}.{a.name}"
                if sub in modules:                    # "from . import fast": a module
                    mod.imports.append((node.lineno, sub, None))
                    aliases[a.asname or a.name] = sub
                else:
                    taken.append(a.name)
            if taken:
                mod.imports.append((node.lineno, source, taken))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            mod.attributes.append((node.lineno, aliases[node.value.id], node.attr))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# --------------------------------------------------------------------------- the rules

def violations(modules: dict[str, Module], package: str = PACKAGE) -> list[str]:
    """Every broken rule, one line each: where, and what."""
    out = []
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for mod in modules.values():
        where = mod.path.name if mod.path.parent.name == package else \
            f"{mod.path.parent.name}/{mod.path.name}"
        src_room = room(mod.name, package)
        for line, target, names in mod.imports:
            if target not in modules:
                out.append(f"{where}:{line}: imports {target}, which is no module of {package}")
                continue
            dst_room = room(target, package)
            if dst_room not in MAY_IMPORT[src_room]:
                out.append(f"{where}:{line}: {src_room} imports {target} ({dst_room})")
            if (src_room == dst_room == "chapters" and target != mod.name
                    and not modules[target].is_package and not mod.is_package):
                out.append(f"{where}:{line}: a chapter imports another chapter, {target}")
            for name in names or ():
                if _private(name) and target != mod.name:
                    out.append(f"{where}:{line}: takes the private name {name} from {target}")
        for line, target, attr in mod.attributes:
            if _private(attr) and target != mod.name:
                out.append(f"{where}:{line}: uses the private name {attr} of {target}")
        if src_room == "core":
            for line, top in mod.externals:
                if top not in stdlib and top not in CORE_THIRD_PARTY:
                    out.append(f"{where}:{line}: the core imports {top} "
                               f"(only numpy, torch and the standard library)")
    out += [f"import cycle: {' -> '.join(c + [c[0]])}" for c in cycles(modules)]
    return out


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected groups of more than one module (or a module importing itself)."""
    graph = {m: sorted({t for _, t, _ in mod.imports if t in modules})
             for m, mod in modules.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):                      # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


# --------------------------------------------------------------------------- the package itself

def test_the_package_has_its_four_rooms():
    modules = read_package(ROOT)
    rooms = {room(m) for m in modules}
    assert rooms == {"core", "chapters", "lab", "viz"}
    for sub in ROOMS:
        doc = ast.get_docstring(ast.parse((ROOT / PACKAGE / sub / "__init__.py").read_text()))
        assert doc and "import" in doc, f"{sub}/__init__.py: say what lives here and what it may import"


def test_arrows_point_one_way():
    found = violations(read_package(ROOT))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", TORCH_FREE)
def test_the_numpy_half_imports_without_torch(name):
    code = f"import sys, {name}; assert 'torch' not in sys.modules, 'torch was imported'"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_lstm_and_rnn_load_on_first_use():
    code = ("import sys, lstm_lib; assert 'torch' not in sys.modules; "
            "from lstm_lib import LSTM, RNN; import lstm_lib.modules as m; "
            "assert LSTM is m.LSTM and RNN is m.RNN and lstm_lib.LSTM is m.LSTM; "
            "assert {'LSTM', 'RNN'} <= set(dir(lstm_lib))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- the checker, tested

def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checker_finds_every_kind_of_violation(tmp_path):
    """A package that breaks each rule once (the old flat layout broke most of them)."""
    _write(tmp_path, {
        "lstm_lib/__init__.py": '"""face"""\n',
        "lstm_lib/modules.py": "from .weights import set_forget_bias\n",
        "lstm_lib/weights.py": ("def f():\n    from . import modules   # late, still an arrow\n"
                                "    return modules.LSTM\n"),
        "lstm_lib/reference.py": "import matplotlib\nfrom .lab import train\n",
        "lstm_lib/jacobians.py": "from .reference import _check_trace\n",
        "lstm_lib/chapters/__init__.py": '"""chapters: may import core, lab, viz"""\n',
        "lstm_lib/chapters/memory.py": "import numpy as np\nFORGET_GRID = (0.5,)\n",
        "lstm_lib/chapters/gradients.py": ("from .memory import FORGET_GRID\n"
                                           "from .. import jacobians\nJ = jacobians._private\n"),
        "lstm_lib/lab/__init__.py": '"""lab: may import core"""\n',
        "lstm_lib/lab/train.py": "from ..viz import explorer\n",
        "lstm_lib/viz/__init__.py": '"""viz: imports nothing of the course"""\n',
        "lstm_lib/viz/explorer.py": "from .. import checks\n",
        "lstm_lib/checks.py": "import numbers\n",
    })
    found = "\n".join(violations(read_package(tmp_path)))
    expected = [
        "import cycle: lstm_lib.modules -> lstm_lib.weights -> lstm_lib.modules",
        "reference.py:1: the core imports matplotlib",
        "reference.py:2: core imports lstm_lib.lab.train (lab)",
        "jacobians.py:1: takes the private name _check_trace from lstm_lib.reference",
        "chapters/gradients.py:1: a chapter imports another chapter, lstm_lib.chapters.memory",
        "chapters/gradients.py:3: uses the private name _private of lstm_lib.jacobians",
        "lab/train.py:1: lab imports lstm_lib.viz.explorer (viz)",
        "viz/explorer.py:1: viz imports lstm_lib.checks (core)",
    ]
    for line in expected:
        assert line in found, f"missing: {line}\nfound:\n{found}"
    assert len(found.splitlines()) == len(expected), found


def test_the_checker_passes_a_clean_package(tmp_path):
    _write(tmp_path, {
        "lstm_lib/__init__.py": "def __getattr__(name):\n    from . import modules\n    return modules.LSTM\n",
        "lstm_lib/modules.py": "import torch\nfrom .weights import set_gate_bias\n",
        "lstm_lib/weights.py": "import numpy as np\n",
        "lstm_lib/chapters/__init__.py": '"""x"""\n',
        "lstm_lib/chapters/memory.py": ("from ..viz.explorer import View\nfrom ..lab import train\n"
                                        "from .. import weights\nw = weights.set_gate_bias\n"),
        "lstm_lib/lab/__init__.py": '"""x"""\n',
        "lstm_lib/lab/train.py": "import tqdm\nfrom .. import modules\n",
        "lstm_lib/viz/__init__.py": '"""x"""\n',
        "lstm_lib/viz/explorer.py": "import matplotlib\nfrom . import plotting\n",
        "lstm_lib/viz/plotting.py": "_x = 1\n",
    })
    assert violations(read_package(tmp_path)) == []


def test_gru_loads_on_first_use_like_lstm_and_rnn():
    code = ("import sys, lstm_lib; assert 'torch' not in sys.modules; "
            "from lstm_lib import GRU; import lstm_lib.modules as m; "
            "assert GRU is m.GRU and lstm_lib.GRU is m.GRU and 'GRU' in dir(lstm_lib)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
