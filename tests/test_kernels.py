"""tests/kernels.py: the narrowed run really runs other kernels (course.py test, phase 2)."""
import json
import os

import pytest

from conftest import KERNELS_DIR
from kernels import changed, narrowed_environment, offers_more, report

AVX512 = {"aten_capability": "AVX512", "numpy_dispatch": ["X86_V3", "X86_V4", "AVX512_ICL"],
          "openblas_core": ["SkylakeX"]}
NARROWED = {"aten_capability": "DEFAULT", "numpy_dispatch": [], "openblas_core": ["Sandybridge"]}


def test_report_names_every_kernel():
    r = report()
    assert r["aten_capability"] in {"DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "SVE256"} \
        or isinstance(r["aten_capability"], str)
    assert isinstance(r["numpy_dispatch"], list) and isinstance(r["openblas_core"], list)


def test_narrowed_environment_disables_what_the_machine_offers():
    env = narrowed_environment(AVX512)
    assert env["NPY_DISABLE_CPU_FEATURES"] == "X86_V3 X86_V4 AVX512_ICL"
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["OMP_NUM_THREADS"] == "1"
    assert "NPY_DISABLE_CPU_FEATURES" not in narrowed_environment(NARROWED)


def test_changed_and_offers_more():
    assert changed(AVX512, NARROWED) == ["aten_capability", "numpy_dispatch", "openblas_core"]
    assert changed(NARROWED, NARROWED) == []
    assert offers_more(AVX512) and not offers_more(NARROWED)


@pytest.mark.skipif(os.environ.get("COURSE_KERNELS") != "narrowed",
                    reason="runs in course.py test's second phase, under narrowed kernels")
def test_the_narrowed_run_used_other_kernels():
    machine_file = KERNELS_DIR / "machine.json"
    assert machine_file.exists(), "the first phase (the machine's own kernels) did not record its kernels"
    machine, here = json.loads(machine_file.read_text()), report()
    if offers_more(machine):
        assert changed(machine, here), (f"the narrowed run changed no kernel: machine {machine}, "
                                        f"narrowed {here}")
