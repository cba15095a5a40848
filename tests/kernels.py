"""Which floating-point kernels a run uses, and how to narrow them.

The course's committed outputs must come out the same on any CPU. Another CPU
runs other kernels: ATen (PyTorch's own operators) picks a CPU capability,
numpy dispatches its loops to the widest SIMD extension available, OpenBLAS
(numpy's BLAS) picks a core type, MKL and oneDNN (torch's) pick an instruction
set. ``course.py test`` therefore runs nbval twice: with the machine's kernels
and again with narrowed ones, which stands in for "another CPU".

    python tests/kernels.py            # the kernels this environment uses (JSON)
    python tests/kernels.py --narrow   # the environment variables of the narrowed run (JSON)

The nbval kernels are started by pytest with its environment, so what this
module reports from the pytest process is what the notebooks' kernels use.
"""
from __future__ import annotations

import json
import os
import sys

LIBRARY_ENV = ("ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE",
               "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS")


def report() -> dict:
    """The kernels in use: ATen's capability, numpy's dispatched features, OpenBLAS's core."""
    import numpy as np
    import threadpoolctl
    import torch
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    blas = [{"api": i.get("internal_api"), "core": i.get("architecture"),
             "threads": i.get("num_threads")} for i in threadpoolctl.threadpool_info()]
    return {
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "numpy_dispatch": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
        "openblas_core": sorted({b["core"] for b in blas if b["api"] == "openblas"}),
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__, "torch": torch.__version__,
        "env": {k: os.environ[k] for k in LIBRARY_ENV if k in os.environ},
    }


def narrowed_environment(machine: dict) -> dict:
    """Environment variables that run every library on narrower kernels than ``machine``'s.

    ATen on its portable "default" kernels, numpy on its baseline (every
    dispatched feature the machine offers disabled), OpenBLAS on the
    Sandybridge core (AVX without FMA), MKL on SSE4.2, oneDNN on SSE4.1, one thread.
    """
    env = {"ATEN_CPU_CAPABILITY": "default", "OPENBLAS_CORETYPE": "Sandybridge",
           "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41",
           "OMP_NUM_THREADS": "1"}
    if machine["numpy_dispatch"]:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(machine["numpy_dispatch"])
    return env


def changed(default: dict, narrowed: dict) -> list[str]:
    """What the narrowed run changed, of the three kernels the reports record."""
    keys = ("aten_capability", "numpy_dispatch", "openblas_core")
    return [k for k in keys if default[k] != narrowed[k]]


def offers_more(default: dict) -> bool:
    """Whether the machine's own kernels are wider than the narrowed ones can be."""
    return (default["aten_capability"] != "DEFAULT" or bool(default["numpy_dispatch"])
            or any(core != "Sandybridge" for core in default["openblas_core"]))


if __name__ == "__main__":
    here = report()
    print(json.dumps(narrowed_environment(here) if "--narrow" in sys.argv[1:] else here))
