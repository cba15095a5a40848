"""What several test files share: the course's error measure.

Every comparison in the tests is scale-relative: max |a - b| / max(1, max |b|),
so a tolerance means the same for a gate near 0.5 and for a gradient of 300.
"""
import numpy as np
import torch

TOL = 1e-10          # float64 against float64


def as_float64(a):
    """A numpy float64 array from a numpy array, a tensor (detached) or a number."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def rel_err(a, b):
    """||a - b||_inf / max(1, ||b||_inf); 0 for empty arrays. Shapes must match."""
    a, b = as_float64(a), as_float64(b)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def assert_close(a, b, tol=TOL, what=""):
    """Assert rel_err(a, b) <= tol, naming ``what`` on failure; returns the error."""
    a, b = as_float64(a), as_float64(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    err = rel_err(a, b)
    assert err <= tol, f"{what}: relative max-abs error {err:.3g} > {tol:g}"
    return err
