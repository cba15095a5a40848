"""lstm_lib.lab.seq2seq: the encoder-decoder models of Chapter 9's bottleneck, and its count."""
import math

import numpy as np
import pytest
import torch

from lstm_lib.lab import seq2seq, tasks

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- the count

@pytest.mark.parametrize("n,L,expected", [(1, 3, 4), (2, 3, 7), (3, 3, 8), (8, 9, 511),
                                          (8, 10, 1013), (4, 5, 31), (16, 16, 2 ** 16)])
def test_readout_regions(n, L, expected):
    assert seq2seq.readout_regions(n, L) == expected


def test_readout_regions_is_every_pattern_up_to_n_and_fewer_beyond():
    for n in range(1, 12):
        for L in range(1, 30):
            r = seq2seq.readout_regions(n, L)
            assert (r == 2 ** L) == (L <= n)
            assert r <= 2 ** L


def test_readout_regions_counts_a_line_cut_by_points():
    """n = 1: L distinct thresholds on a line leave L + 1 intervals, and the intervals
    read as L + 1 distinct answer patterns: checked by brute force."""
    g = np.random.default_rng(0)
    for L in (1, 2, 5):
        thresholds, signs = g.normal(size=L), g.choice([-1, 1], size=L)
        h = np.linspace(-10, 10, 20001)
        patterns = {tuple(row) for row in (signs * (h[:, None] - thresholds) > 0)}
        assert len(patterns) == seq2seq.readout_regions(1, L) == L + 1


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_readout_regions_bad_input(bad):
    with pytest.raises(ValueError, match="expected a positive integer"):
        seq2seq.readout_regions(bad, 3)


# --------------------------------------------------------------------------- the models

def test_shapes_and_weights():
    b = tasks.associative_recall(5, 3, rng=0)
    for model in seq2seq.MODELS:
        net = seq2seq.make_encoder_decoder(model, keys=5, values=2, hidden_size=4)
        logits, w = net(*seq2seq.split_recall(b), return_weights=True)
        assert logits.shape == (5, 3, 2)
        if model == "attention":
            assert w.shape == (3, 5, 5)
            assert torch.allclose(w.sum(-1), torch.ones(3, 5))
        else:
            assert w is None


def test_the_bottleneck_reads_only_the_last_state():
    """Two sources that leave the same h_L get the same answers, whatever came before."""
    net = seq2seq.make_encoder_decoder("bottleneck", keys=4, values=2, hidden_size=3,
                                       dtype=torch.float64)
    b = tasks.associative_recall(4, 2, rng=1)
    source, questions = seq2seq.split_recall(b)
    logits = net(source, questions)
    _, (h_L, _) = net.encoder(source.double())
    table = net.readout(h_L[0]).view(2, 4, 2)
    k = questions[..., :4].argmax(-1)
    assert torch.equal(logits, table[torch.arange(2), k])


def test_attention_reads_every_encoder_state():
    """Changing an early pair changes the attention model's answers through a, not only h_L."""
    net = seq2seq.make_encoder_decoder("attention", keys=4, values=2, hidden_size=3,
                                       dtype=torch.float64)
    b = tasks.associative_recall(4, 1, rng=2)
    source, questions = seq2seq.split_recall(b)
    logits, w = net(source, questions, return_weights=True)
    assert w.shape == (1, 4, 4) and bool((w > 0).all())


def test_float64_and_seeded():
    a = seq2seq.make_encoder_decoder("attention", 3, 2, 4, seed=5)
    b = seq2seq.make_encoder_decoder("attention", 3, 2, 4, seed=5, dtype=torch.float64)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and pb.dtype == torch.float64
        assert torch.equal(pa.double(), pb)


def test_loss_and_metrics():
    b = tasks.associative_recall(3, 8, rng=3)
    net = seq2seq.make_encoder_decoder("bottleneck", 3, 2, 4)
    loss, logits = seq2seq.recall_loss(net, b)
    assert logits.shape == (3, 8, 2) and loss.item() > 0
    m = seq2seq.recall_metrics(net, b)
    right = logits.argmax(-1) == b.y
    assert m["accuracy"] == pytest.approx(right.double().mean().item())
    assert m["sequence_accuracy"] == pytest.approx(right.all(0).double().mean().item())
    assert m["loss"] == pytest.approx(loss.item(), rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="model: expected one of"):
        seq2seq.make_encoder_decoder("gru", 3, 2, 4)
    with pytest.raises(ValueError, match="dtype"):
        seq2seq.make_encoder_decoder("attention", 3, 2, 4, dtype=torch.float16)
    with pytest.raises(TypeError, match="attention: expected a bool"):
        seq2seq.EncoderDecoder(3, 2, 4, attention="yes")
    net = seq2seq.make_encoder_decoder("bottleneck", 3, 2, 4)
    with pytest.raises(ValueError, match=r"expected \(L, B, keys \+ values = 5\)"):
        net(torch.zeros(3, 2, 6), torch.zeros(3, 2, 6))
    b = tasks.associative_recall(3, 2, rng=0)
    b.x = b.x[:-1]
    with pytest.raises(ValueError, match="expected 2L steps"):
        seq2seq.split_recall(b)


def test_recall_bits_and_regions_agree_on_when_linear_readout_must_fail():
    """Beyond L = n the 2^L answer patterns outnumber the regions: some must come out wrong."""
    for n in (4, 8):
        assert seq2seq.readout_regions(n, n) == 2 ** tasks.recall_bits(n)
        assert seq2seq.readout_regions(n, n + 1) < 2 ** tasks.recall_bits(n + 1)
    assert math.isclose(tasks.recall_bits(6, values=4), 12.0)
