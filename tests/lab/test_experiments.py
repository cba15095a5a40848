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


def test_cosine_lr_falls_from_lr_to_lr_final():
    lr_at = E.cosine_lr(0.01, 0.001, 5)
    assert [round(lr_at(s), 6) for s in range(1, 6)] == [0.01, 0.008682, 0.0055, 0.002318, 0.001]


def test_run_charlm_is_deterministic_and_saves_its_weights(tmp_path):
    kw = dict(hidden=4, batch=4, T=10, steps=3, eval_every=2)
    a = E.run_charlm("lstm", weights=tmp_path / "a.pt", **kw)
    b = E.run_charlm("lstm", weights=tmp_path / "b.pt", **kw)
    for r in (a, b):
        r.pop("seconds")
        r.pop("weights")
    assert a == b
    assert a["steps"] == [0, 2, 3] and len(a["valid_bpc"]) == 3 and a["characters_seen"] == 120
    assert a["parameters"] == 4 * (4 * 97 + 4 * 4 + 2 * 4) + 4 * 97 + 97
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    assert sorted(state) == ["head.bias", "head.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0",
                             "rnn.weight_hh_l0", "rnn.weight_ih_l0"]
    r = E.run_charlm("rnn", **kw)
    assert r["weights"] is None and r["forget_bias"] is None
