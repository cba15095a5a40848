"""Make requirements.lock: every package the course installs, at one exact version.

    python3.11 scripts/lock.py                          # after editing requirements.txt
    python3.11 scripts/lock.py --upgrade-package NAME   # also let NAME move (repeatable)
    python3.11 scripts/lock.py --upgrade                # resolve everything afresh

requirements.txt holds the course's direct pins, written by hand. This script
installs them in a throwaway virtual environment (with pip's resolver, the torch
build course.py would pick on a machine without a GPU, and the pip that the lock
pins) and freezes what got installed into requirements.lock. course.py installs
requirements.lock, so every course environment is exactly the lock;
tests/test_lock.py checks that the running environment is, and that the lock
agrees with requirements.txt.

To change a pin (say pydata-sphinx-theme, which sphinx-book-theme pulls in):

    1. edit or add its line in requirements.txt:   pydata-sphinx-theme==0.16.1
    2. python3.11 scripts/lock.py                  (a few minutes; prints what changed)
    3. python3.11 course.py test                   (course.py sees the new lock and
                                                    re-syncs .venv: installs and removes)
    4. commit requirements.txt and requirements.lock together

Packages not named in requirements.txt keep their locked versions (the old lock
is passed to pip as constraints), so a re-lock changes only what it must. If
the new pins need other versions of them, pip says it cannot resolve: re-run
with --upgrade-package for the packages it names, or --upgrade. Where pip names
another direct pin, change both: sphinx-book-theme 1.3.0, for one, requires
pydata-sphinx-theme==0.17.1 exactly, so another theme version needs another
sphinx-book-theme pin beside it.

What the lock does not fix, on purpose:
- torch's build. The lock says torch==2.13.0 without a local label; course.py
  picks the build per machine (the +cpu build from PyTorch's CPU index, or
  PyPI's), and the checks compare torch's version without its local label. The
  packages the CUDA build asks for on Linux x86-64 (nvidia-*, triton, cuda-*,
  each required under a platform marker) are installed as torch pins them and
  are not in the lock.
- Packages that only another platform needs (required under a platform marker,
  e.g. colorama on Windows, appnope on macOS): the lock is made on Linux, so
  on those platforms pip adds them unpinned, and the checks accept them.
- pip, setuptools and wheel are pinned like everything else: course.py first
  upgrades the new environment's pip to the locked pip, then installs the lock
  (setuptools and wheel are requirements of locked packages).
- No hashes: the torch wheel differs by platform and index, which hashes forbid.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"
PROJECT = "lstm-lib"                 # pyproject.toml's [project] name, canonical
# Only torch differs in its local label between builds (2.13.0+cpu, 2.13.0).
LOCAL_LABEL_IGNORED = {"torch"}
# What torch's CUDA build brings on Linux x86-64; never written into the lock.
TORCH_BUILD_EXTRAS = re.compile(r"^(nvidia-.*|triton|cuda-.*)$")
# Marker variables that make a requirement platform-specific.
PLATFORM_MARKERS = ("sys_platform", "platform_system", "platform_machine", "os_name",
                    "platform_release", "platform_version", "implementation_name",
                    "platform_python_implementation")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """PEP 503 normalised name: 'Jinja2' and 'sphinx_design' as 'jinja2', 'sphinx-design'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """The version without its local label: '2.13.0+cpu' -> '2.13.0'."""
    return version.split("+", 1)[0]


@dataclass(frozen=True)
class Pin:
    name: str          # as written
    version: str


def read_pins(path: Path) -> dict[str, Pin]:
    """The exact pins (name==version) of a requirements file, by canonical name.

    Options (-e ., -r, --index-url) and comments are skipped; any other
    requirement that is not an exact pin is an error.
    """
    pins: dict[str, Pin] = {}
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;,]+)", line)
        if not m:
            raise ValueError(f"{path}:{number}: not an exact pin (name==version): {raw!r}")
        pins[canonical(m[1])] = Pin(m[1], m[3])
    return pins


@dataclass
class Dist:
    name: str
    version: str
    requires: list[str] = field(default_factory=list)

    def edges(self):
        """(canonical name, marker text) for each requirement."""
        for req in self.requires:
            m = _NAME.match(req)
            if m:
                yield canonical(m[1]), (req.split(";", 1)[1] if ";" in req else "")


def environment(paths=None) -> dict[str, Dist]:
    """The distributions installed in site-packages directories (default: this Python's)."""
    if paths is None:
        import sysconfig
        paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    dists: dict[str, Dist] = {}
    for d in metadata.distributions(path=[str(p) for p in paths]):
        name = d.metadata["Name"]
        if name and canonical(name) not in dists:
            dists[canonical(name)] = Dist(name, d.version, list(d.requires or []))
    return dists


def platform_extras(dists: dict[str, Dist], locked, sources=None) -> set[str]:
    """Installed packages outside `locked` that are there for the platform alone.

    They are required under a platform marker (`; platform_system == "Linux"`,
    `; sys_platform == "win32"`) by a package in `sources` (default: every one
    installed), or required in turn by such a package. Requirements that only
    an extra asks for are not followed.
    """
    found: set[str] = set()
    todo = [name for src in (dists if sources is None else sources) if src in dists
            for name, marker in dists[src].edges()
            if "extra" not in marker and any(v in marker for v in PLATFORM_MARKERS)]
    while todo:
        name = todo.pop()
        if name in found or name in locked or name not in dists:
            continue
        found.add(name)
        todo += [n for n, marker in dists[name].edges() if "extra" not in marker]
    return found


def compare(dists: dict[str, Dist], lock: dict[str, Pin], project: str = PROJECT) -> list[str]:
    """What keeps an environment from being exactly the lock; empty when it is.

    Every installed distribution must be in the lock at the locked version
    (torch without its local label), but for the project itself and the
    platform's extras (see platform_extras); every locked one must be installed.
    """
    problems = []
    extras = platform_extras(dists, lock)
    for key, dist in sorted(dists.items()):
        if key == project or key in extras:
            continue
        if key not in lock:
            problems.append(f"{dist.name} {dist.version} is installed but not in requirements.lock")
            continue
        have = public(dist.version) if key in LOCAL_LABEL_IGNORED else dist.version
        if have != lock[key].version:
            problems.append(f"{dist.name} {dist.version} is installed; requirements.lock pins "
                            f"{lock[key].version}")
    for key, pin in sorted(lock.items()):
        if key not in dists:
            problems.append(f"{pin.name}=={pin.version} is in requirements.lock but not installed")
    return problems


def not_locked(dists: dict[str, Dist], lock: dict[str, Pin], project: str = PROJECT) -> list[str]:
    """Installed packages the lock does not list (and that are not the platform's extras)."""
    extras = platform_extras(dists, lock)
    return sorted(dists[k].name for k in dists if k not in lock and k not in extras and k != project)


def disagreements(direct: dict[str, Pin], lock: dict[str, Pin]) -> list[str]:
    """Direct pins of requirements.txt that the lock lacks or pins at another version."""
    out = []
    for key, pin in sorted(direct.items()):
        if key not in lock:
            out.append(f"{pin.name}=={pin.version} (requirements.txt) is not in requirements.lock")
        elif lock[key].version != pin.version:
            out.append(f"{pin.name}: requirements.txt pins {pin.version}, requirements.lock "
                       f"{lock[key].version}")
    return out


def freeze(dists: dict[str, Dist], project: str = PROJECT) -> dict[str, Pin]:
    """The lock of an environment: all but the project and torch's CUDA-build extras."""
    cuda = {k for k in platform_extras(dists, set(), sources=["torch"])
            if TORCH_BUILD_EXTRAS.match(k)}
    return {k: Pin(d.name, public(d.version) if k in LOCAL_LABEL_IGNORED else d.version)
            for k, d in dists.items() if k != project and k not in cuda}


def render(lock: dict[str, Pin], direct: dict[str, Pin]) -> str:
    import platform
    lines = [
        "# Every package the course installs, at one exact version.",
        "# Made by scripts/lock.py from requirements.txt: do not edit by hand; edit",
        "# requirements.txt, then run `python3.11 scripts/lock.py` (see its docstring).",
        f"# Resolved on Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}. Not here, on purpose: the project itself (-e .),",
        "# torch's build (local label, e.g. +cpu; course.py picks it per machine) and what",
        "# a CUDA build of torch or another platform adds (nvidia-*, triton; colorama...).",
        f"# {len(lock)} packages; the {len(direct)} direct pins of requirements.txt are marked.",
    ]
    for key in sorted(lock):
        pin = lock[key]
        lines.append(f"{pin.name}=={pin.version}" + ("    # direct" if key in direct else ""))
    return "\n".join(lines) + "\n"


def _site_packages(py: Path) -> list[str]:
    out = subprocess.run([str(py), "-c", "import sysconfig; p = sysconfig.get_paths(); "
                          "print(p['purelib']); print(p['platlib'])"],
                         capture_output=True, text=True, check=True).stdout
    return sorted(set(out.split()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[5:]))
    parser.add_argument("--upgrade", action="store_true",
                        help="resolve every package afresh (ignore the current lock)")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME",
                        help="let NAME move from its locked version (repeatable)")
    parser.add_argument("--keep-venv", action="store_true",
                        help="keep the throwaway environment (its path is printed)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import course  # noqa: E402  (the torch choice and pip runner are course.py's)

    direct = read_pins(REQUIREMENTS)
    old = {} if args.upgrade or not LOCK.exists() else read_pins(LOCK)
    free = set(direct) | {canonical(n) for n in args.upgrade_package}
    tmp = Path(tempfile.mkdtemp(prefix="course-lock-"))
    venv_dir = tmp / "venv"
    try:
        course.say(f"lock 1/4: a throwaway environment in {venv_dir}")
        import venv
        venv.EnvBuilder(with_pip=True).create(venv_dir)
        py = venv_dir / course.BIN.relative_to(course.VENV) / course.PY.name
        pip_spec = "pip" if "pip" not in old else f"pip=={old['pip'].version}"
        if course.pip_install(py, ["--upgrade", pip_spec]) != 0:
            return 1
        course.say("lock 2/4: torch, as course.py would install it without a GPU")
        if course.install_torch(py, direct["torch"].version, cuda=False) != 0:
            return 1
        constraints = tmp / "constraints.txt"
        constraints.write_text("".join(f"{p.name}=={p.version}\n"
                                       for k, p in sorted(old.items()) if k not in free))
        course.say(f"lock 3/4: requirements.txt, other packages held at their locked versions "
                   f"({len(old) - len(set(old) & free)} constraints)" if old else
                   "lock 3/4: requirements.txt, resolved afresh")
        if course.pip_install(py, ["-r", REQUIREMENTS, "-c", constraints]) != 0:
            course.say("pip could not resolve (see above). Where it names two pins of "
                       "requirements.txt, change them together (sphinx-book-theme pins its "
                       "pydata-sphinx-theme exactly); where it names other packages, re-run "
                       "with --upgrade-package NAME for them, or with --upgrade")
            return 1
        dists = environment(_site_packages(py))
        lock = freeze(dists)
        problems = disagreements(direct, lock) + compare(dists, lock)
        if problems:
            print("\n".join(problems))
            return 1
        LOCK.write_text(render(lock, direct))
        changes = 0
        course.say(f"lock 4/4: wrote {LOCK.name}: {len(lock)} packages")
        for key in sorted(set(old) | set(lock)):
            if key not in lock:
                print(f"  removed  {old[key].name}=={old[key].version}")
            elif key not in old:
                print(f"  added    {lock[key].name}=={lock[key].version}")
            elif old[key].version != lock[key].version:
                print(f"  changed  {lock[key].name} {old[key].version} -> {lock[key].version}")
            else:
                continue
            changes += 1
        if old and not changes:
            print("  no version changed")
        return 0
    finally:
        if args.keep_venv:
            course.say(f"kept {venv_dir}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
