"""lstm_lib.lab.charlm: the character-level model, its loss, bits per character and sampling."""
import math

import numpy as np
import pytest
import torch

from lstm_lib.lab import charlm as lm
from lstm_lib.lab import corpus as C
from lstm_lib.lab import train as tr

pytestmark = pytest.mark.usefixtures("one_thread")


def model(cell="lstm", n=6, dtype=torch.float64, seed=0):
    return lm.make_charlm(cell, n, forget_bias=1.0 if cell == "lstm" else None, seed=seed, dtype=dtype)


@pytest.mark.parametrize("cell", lm.CELLS)
def test_forward_shapes_and_the_carried_state(cell):
    m = model(cell)
    x = torch.as_tensor(np.random.default_rng(0).integers(0, C.V, size=(12, 3)))
    logits, _ = m(x)
    assert logits.shape == (12, 3, C.V) and logits.dtype == torch.float64
    first, state = m(x[:5])
    rest, _ = m(x[5:], state)                               # reading on from the carried state ...
    assert torch.allclose(torch.cat([first, rest]), logits, atol=1e-12)   # ... is reading it whole


def test_the_model_refuses_bad_input():
    m = model()
    with pytest.raises(ValueError, match=r"int64 tensor \(T, B\)"):
        m(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"indices in \[0, 97\)"):
        m(torch.full((4, 2), 97))
    with pytest.raises(ValueError, match="cell: expected one of"):
        lm.CharLM("gru", 4)
    with pytest.raises(ValueError, match="an RNN has no gates"):
        lm.CharLM("rnn", 4, forget_bias=1.0)
    with pytest.raises(ValueError, match="dtype"):
        lm.make_charlm("lstm", 4, dtype=torch.float16)


def test_biases_are_set_where_asked():
    m = lm.make_charlm("lstm", 5, forget_bias=1.0, input_bias=-2.0)
    b = (m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0).detach()
    assert torch.allclose(b[5:10], torch.ones(5)) and torch.allclose(b[:5], -2 * torch.ones(5))


def test_lm_loss_carries_the_state_and_resets_it_at_an_epoch():
    m = model()
    sb = C.StreamBatches(np.arange(400) % C.V, batch_size=2, T=8, rng=0)
    loss_fn = lm.lm_loss()
    b1, b2 = sb(), sb()
    loss_fn(m, b1)
    loss2, logits2 = loss_fn(m, b2)
    whole, _ = m(torch.cat([b1.x, b2.x]))
    assert torch.allclose(logits2, whole[8:], atol=1e-12)                  # b2 read after b1
    expected = torch.nn.functional.cross_entropy(whole[8:].reshape(-1, C.V), b2.y.reshape(-1))
    assert torch.isclose(loss2, expected)
    b1.meta["reset"] = True
    _, again = loss_fn(m, b1)
    assert torch.allclose(again, whole[:8], atol=1e-12)                    # from zero again


def test_bits_per_char_is_the_mean_code_length_of_every_predicted_character():
    m = model()
    ids = np.random.default_rng(1).integers(0, C.V, size=50)
    logp, where = lm.log2_probs(m, ids, streams=1)
    logits, _ = m(torch.as_tensor(ids[:-1])[:, None])
    direct = torch.log_softmax(logits[:, 0], -1)[torch.arange(49), torch.as_tensor(ids[1:])]
    assert np.allclose(logp, direct.detach().numpy() / math.log(2), atol=1e-12)
    assert list(where) == list(range(1, 50))
    logp4, where4 = lm.log2_probs(m, ids, streams=4)                       # pieces of 13
    assert sorted(set(range(50)) - set(where4.tolist())) == [0, 13, 26, 39]
    assert np.allclose(logp4[where4 < 13], logp[:12])                       # piece 0 is the start
    assert lm.bits_per_char(m, ids, streams=4) == pytest.approx(-logp4.mean())
    # an untrained model is close to knowing nothing: log2 V bits per character
    assert abs(lm.bits_per_char(m, ids, streams=1) - math.log2(C.V)) < 0.1


def test_training_lowers_bits_per_char_on_a_repetitive_text():
    ids = C.encode("def f(x):\n    return x\n" * 40)
    m = lm.make_charlm("lstm", 16, forget_bias=1.0, seed=0)
    before = lm.bits_per_char(m, ids, streams=2)
    hist = tr.train(m, C.StreamBatches(ids, 4, 20, rng=0), lm.lm_loss(), 60, lr=0.02)
    assert hist["steps_run"] == 60
    assert lm.bits_per_char(m, ids, streams=2) < 0.5 * before


def test_sample_is_reproducible_and_follows_the_temperature():
    m = model(n=8)
    a = lm.sample(m, "def ", 40, temperature=1.0, rng=3)
    b = lm.sample(m, "def ", 40, temperature=1.0, rng=3)
    assert a == b and len(a[0]) == 40 and a[1] > 1e-9
    # a very low temperature is the greedy choice at every step
    text, _ = lm.sample(m, "def ", 10, temperature=1e-3, rng=0)
    ids, (logits, state) = [], m(torch.as_tensor(C.encode("def "))[:, None])
    for _ in range(10):
        k = int(logits[-1, 0].argmax())
        ids.append(k)
        logits, state = m(torch.tensor([[k]]), state)
    assert text == C.decode(ids)


def test_sample_draws_by_the_inverse_cdf():
    """With a model whose readout ignores the state, draws follow softmax(b / temperature)."""
    m = model(n=4)
    with torch.no_grad():
        m.head.weight.zero_()
        m.head.bias.copy_(torch.log(torch.tensor([0.5, 0.3, 0.2] + [1e-30] * (C.V - 3))))
    text, _ = lm.sample(m, "x", 3000, temperature=1.0, rng=0)
    counts = np.bincount(C.encode(text), minlength=3)[:3] / 3000
    assert np.allclose(counts, [0.5, 0.3, 0.2], atol=0.03)
    text, _ = lm.sample(m, "x", 3000, temperature=0.5, rng=0)
    p = np.array([0.5, 0.3, 0.2]) ** 2
    counts = np.bincount(C.encode(text), minlength=3)[:3] / 3000
    assert np.allclose(counts, p / p.sum(), atol=0.03)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(prime="", length=5), "prime"),
    (dict(prime="a", length=0), "length"),
    (dict(prime="a", length=5, temperature=0), "temperature"),
])
def test_sample_refuses_bad_arguments(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        lm.sample(model(), **kwargs)
