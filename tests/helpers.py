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


def make_inputs(kind, d, n, T, B, num_layers, bidirectional, batch_first, batched,
                with_state, dtype, seed=1):
    """A seeded input and initial state for an ``nn.LSTM``/``nn.RNN``-style module.

    kind: "lstm" (state (h0, c0)) or anything else (state h0). Returns (x, hx); hx is
    None unless ``with_state``. Shapes follow torch.nn: batch_first, unbatched inputs.
    """
    g = torch.Generator().manual_seed(seed)
    D = 2 if bidirectional else 1
    if batched:
        shape = (B, T, d) if batch_first else (T, B, d)
        state_shape = (num_layers * D, B, n)
    else:
        shape, state_shape = (T, d), (num_layers * D, n)
    x = torch.randn(shape, generator=g, dtype=dtype)
    if not with_state:
        return x, None
    n_states = 2 if kind == "lstm" else 1
    states = [0.5 * torch.randn(state_shape, generator=g, dtype=dtype) for _ in range(n_states)]
    return x, (tuple(states) if kind == "lstm" else states[0])


def series(view, panel, k):
    """The (x, y) of series k in panel ``panel`` of an explorer's View."""
    s = view.panels[panel].series[k]
    return s.x, s.y


SPECIAL_FILES = ("fifo", "socket", "symlink to a fifo", "symlink to a socket")


def make_special_file(directory, kind):
    """A file that is not a regular file, under ``directory`` (a test's tmp_path; never /dev).

    kind: one of SPECIAL_FILES. Returns its path; its ``os.lstat`` must not change when
    a command line refuses to write there.
    """
    import os
    import socket
    path = directory / kind.replace(" ", "-")
    target = path if not kind.startswith("symlink") else directory / f"target-of-{path.name}"
    if kind.endswith("fifo"):
        os.mkfifo(target)
    else:
        with socket.socket(socket.AF_UNIX) as s:       # the socket file outlives the socket
            s.bind(str(target))
    if kind.startswith("symlink"):
        path.symlink_to(target)
    return path


def file_identity(path):
    """What a file is, where it is, and its link's target: equal before and after = untouched."""
    import os
    st = os.lstat(path)
    link = os.readlink(path) if os.path.islink(path) else None
    return (st.st_mode, st.st_ino, st.st_dev, link)
