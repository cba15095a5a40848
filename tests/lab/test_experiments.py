"""lstm_lib.lab.experiments: the lab's experiments and their one table of defaults."""
import pytest
import torch

from lstm_lib.lab import experiments as E

torch.set_num_threads(1)


# --------------------------------------------------------------------------- experiments

def test_run_functions_are_deterministic():
    a = E.run_adding("lstm", T=6, steps=6, hidden=4, test_size=16, eval_every=3)
    b = E.run_adding("lstm", T=6, steps=6, hidden=4, test_size=16, eval_every=3)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["sequences"] == [0, 96, 192] and len(a["test_mse"]) == 3
    assert a["baseline_mse"] == pytest.approx(1 / 6)


def test_run_exp4_counts_the_training_stream():
    r = E.run_exp4(T=20, hidden=4, batch=8, max_sequences=40, test_size=32)
    assert r["sequences_seen"] == 40 and r["criterion_met"] is False
    assert r["sequences_to_criterion"] is None and 0 <= r["test_wrong"] <= 32


def test_run_order_epochs():
    r = E.run_order("rnn", hidden=4, batch=10, epochs=2, train_size=25, test_size=20)
    assert r["epochs"] == [0, 1, 2] and len(r["test_accuracy"]) == 3
    assert r["epoch_sequences"] == 25 and r["chance"] == 0.25


def test_summarize_median_and_range():
    runs = [{"cell": "lstm", "sequences_to_mse_0.01": v, "final_test_mse": 0.1,
             "first_grad_norm": 1.0} for v in (300, 100, None, 200)]
    s = E.summarize("adding", runs)["lstm"]["sequences_to_mse_0.01"]
    assert s == {"median": 200.0, "min": 100.0, "max": 300.0, "n": 3, "of": 4}


def test_settings_are_the_table_with_overrides():
    s = E.settings("adding", T=6, hidden=4)
    assert (s.T, s.hidden, s.batch, s.stop_mse) == (6, 4, 32, None)
    assert E.settings("ablation").stop_mse == 0.01           # what the committed ablation used
    with pytest.raises(TypeError, match=r"adding: unknown setting\(s\) \['hiden'\]"):
        E.settings("adding", hiden=4)
    with pytest.raises(TypeError, match="unknown setting"):
        E.run_order("rnn", T=5)                               # the order task has no T


def test_run_ablation_runs_every_arm_and_seed():
    runs = E.run_ablation(seeds=(0,), T=6, steps=2, hidden=3, test_size=8, eval_every=1)
    assert [(r["forget_bias"], r["clip"]) for r in runs] == E.ABLATION_ARMS


# --------------------------------------------------------------------------- ranges and memory

def test_limits_cover_every_setting_and_hold_the_defaults():
    for e in E.EXPERIMENTS:
        assert set(E.LIMITS[e]) == set(E.DEFAULTS[e]) | {"seeds"}, e
        for name, value in E.DEFAULTS[e].items():
            assert E.out_of_range(e, name, value) is None, (e, name, value)
        assert E.out_of_range(e, "seeds", E.SEEDS[e]) is None


@pytest.mark.parametrize("experiment, name, value, message", [
    ("copy", "alphabet", 1, "alphabet: expected an integer in [2, 1000], got 1"),
    ("adding", "hidden", 100_000, "hidden: expected an integer in [1, 4096], got 100000"),
    ("adding", "hidden", 4.0, "hidden: expected an integer in [1, 4096], got 4.0"),
    ("adding", "batch", True, "batch: expected an integer in [1, 65536], got True"),
    ("adding", "lr", 0, "lr: expected a number in (0, 10], got 0"),
    ("adding", "lr", float("nan"), "lr: expected a number in (0, 10], got nan"),
    ("adding", "forget_bias", "1", "forget_bias: expected a number in [-100, 100], got '1'"),
    ("adding", "T", 1, "T: expected an integer in [2, 100000], got 1"),
    ("exp4", "T", 19, "T: expected an integer in [20, 100000], got 19"),
    ("copy", "length", 1_000_000, "length: expected an integer in [1, 10000], got 1000000"),
    ("order", "n_relevant", 4, "n_relevant: expected an integer in [2, 3], got 4"),
])
def test_settings_refuse_what_is_out_of_range(experiment, name, value, message):
    with pytest.raises(ValueError) as exc:
        E.settings(experiment, **{name: value})
    assert str(exc.value) == message
    assert E.settings("adding", clip=None, input_bias=None, stop_mse=None).clip is None


def test_run_functions_refuse_a_run_too_big_for_the_machine(monkeypatch):
    monkeypatch.setattr(E.R, "memory_total", lambda: 10**8)          # a 100 MB machine
    with pytest.raises(MemoryError, match=r"this copy run would need about .* GB of memory "
                                          r"\(an estimate\), more than half of this machine's"):
        E.run_copy("lstm", steps=1)
    with pytest.raises(MemoryError, match="adding run"):
        E.run_ablation(seeds=(0,), steps=1)


def test_memory_total_is_plausible():
    total = E.R.memory_total()
    assert total is None or 2**28 <= total <= 2**50


def test_memory_estimate_bounds_a_measured_run():
    """One run, measured in a fresh process: the estimate is above its peak, and not far."""
    import json
    import subprocess
    import sys
    kw = dict(T=300, batch=64, hidden=128, test_size=128, steps=1, eval_every=1)
    child = ("import json, resource, torch; torch.set_num_threads(1)\n"
             "from lstm_lib.lab import experiments as E\n"
             f"E.run_adding('lstm', **{kw!r})\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    peak = int(r.stdout.split()[-1])
    estimate = E.memory_estimate("adding", **kw)
    assert peak <= estimate <= 2 * peak, (peak, estimate)
