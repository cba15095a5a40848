"""lstm_lib.attention against torch.nn.functional.scaled_dot_product_attention.

Outputs and the gradients with respect to query, key and value must agree to
1e-10 (float64, relative to scale: see helpers.rel_err) for every mask kind
(none, causal, boolean, float with -inf), several shapes and a given scale;
SelfAttention must agree with torch.nn.MultiheadAttention (one head) with the
same weights. Bad input gets an error that names what was expected.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lstm_lib.attention import SelfAttention, attention, causal_mask, softmax
from helpers import assert_close

pytestmark = pytest.mark.usefixtures("one_thread")
TOL = 1e-10


def qkv(batch=(2, 3), L=5, S=6, E=4, Ev=7, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    make = lambda *shape: torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(True)  # noqa: E731
    return make(*batch, L, E), make(*batch, S, E), make(*batch, S, Ev)


def both(q, k, v, seed=5, **kw):
    """(ours, torch's): outputs and the gradients of one random linear loss."""
    theirs_kw = dict(kw)
    if "causal" in theirs_kw:
        theirs_kw["is_causal"] = theirs_kw.pop("causal")
    if "mask" in theirs_kw:
        theirs_kw["attn_mask"] = theirs_kw.pop("mask")
    ours = attention(q, k, v, **kw)
    theirs = F.scaled_dot_product_attention(q, k, v, **theirs_kw)
    g = torch.randn(ours.shape, generator=torch.Generator().manual_seed(seed), dtype=ours.dtype)
    return ((ours, *torch.autograd.grad(ours, (q, k, v), g)),
            (theirs, *torch.autograd.grad(theirs, (q, k, v), g)))


def _bool_mask(shape, seed=3):
    m = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) > 0.4
    m[..., 0] = True                                   # every query keeps at least one key
    return m


def _float_mask(shape, seed=4):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(*shape, generator=g, dtype=torch.float64)
    m[torch.rand(*shape, generator=g) > 0.7] = -math.inf
    m[..., 0] = 0.0
    return m


CASES = {
    "plain": {},
    "causal": {"causal": True},
    "bool mask (L, S)": {"mask": _bool_mask((5, 6))},
    "bool mask (*batch, L, S)": {"mask": _bool_mask((2, 3, 5, 6))},
    "float mask with -inf": {"mask": _float_mask((2, 3, 5, 6))},
    "scale": {"scale": 0.3},
}


@pytest.mark.parametrize("case", list(CASES))
def test_attention_matches_torch_outputs_and_gradients(case):
    q, k, v = qkv()
    ours, theirs = both(q, k, v, **CASES[case])
    for what, a, b in zip(("output", "d/dquery", "d/dkey", "d/dvalue"), ours, theirs):
        assert_close(a, b, TOL, f"{case}: {what}")


@pytest.mark.parametrize("batch,L,S,E,Ev", [((), 1, 1, 1, 1), ((4,), 9, 3, 2, 5),
                                            ((2, 2, 2), 3, 8, 6, 1), ((1,), 16, 16, 8, 8)])
def test_attention_matches_torch_for_several_shapes(batch, L, S, E, Ev):
    q, k, v = qkv(batch, L, S, E, Ev, seed=L + S)
    for kw in ({}, {"causal": True}):
        ours, theirs = both(q, k, v, **kw)
        for a, b in zip(ours, theirs):
            assert_close(a, b, TOL, f"{batch} {L} {S} {E} {Ev} {kw}")


def test_weights_are_a_softmax_by_rows_and_masked_entries_are_zero():
    q, k, v = qkv()
    mask = _bool_mask((5, 6))
    out, A = attention(q, k, v, mask=mask, return_weights=True)
    assert A.shape == (2, 3, 5, 6)
    assert torch.allclose(A.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64), atol=1e-14)
    assert bool((A[..., ~mask] == 0).all())
    assert_close(out, A @ v, 1e-14, "output = A V")


def test_causal_mask_is_torchs_and_a_causal_output_ignores_the_future():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).bool())
    assert torch.equal(causal_mask(2, 4), torch.ones(2, 4).tril().bool())
    q, k, v = qkv(L=6, S=6)
    base = attention(q, k, v, causal=True)
    k2, v2 = k.detach().clone(), v.detach().clone()
    k2[..., 4:, :] += 10.0                               # change only the last two positions
    v2[..., 4:, :] -= 3.0
    changed = attention(q, k2, v2, causal=True)
    assert torch.equal(base[..., :4, :], changed[..., :4, :])
    assert not torch.equal(base[..., 4:, :], changed[..., 4:, :])


def test_softmax_is_stable_for_large_scores():
    z = torch.tensor([[1000.0, 1000.0, -1000.0]], dtype=torch.float64)
    assert torch.allclose(softmax(z), torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64))
    x = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert_close(softmax(x), torch.softmax(x, -1), 1e-15, "softmax")


# --------------------------------------------------------------------------- the module

def test_self_attention_matches_multihead_attention_with_one_head():
    torch.manual_seed(0)
    for causal in (False, True):
        ours = SelfAttention(8, causal=causal, dtype=torch.float64)
        with torch.no_grad():
            for p in ours.parameters():
                p.normal_(0, 0.5)
        theirs = nn.MultiheadAttention(8, 1, dtype=torch.float64)
        theirs.load_state_dict(ours.state_dict())
        x = torch.randn(10, 3, 8, dtype=torch.float64)
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        y, A = ours(x1, return_weights=True)
        mask = ~causal_mask(10) if causal else None
        y2, A2 = theirs(x2, x2, x2, attn_mask=mask, need_weights=True)
        assert_close(y, y2, TOL, "output")
        assert_close(A, A2, TOL, "weights")
        y.square().sum().backward()
        y2.square().sum().backward()
        assert_close(x1.grad, x2.grad, TOL, "d/dx")
        for (name, p), (_, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert_close(p.grad, p2.grad, TOL, name)


def test_self_attention_shapes_and_parameter_count():
    m = SelfAttention(6)
    assert sum(p.numel() for p in m.parameters()) == 4 * 36 + 4 * 6
    assert m(torch.randn(5, 2, 6)).shape == (5, 2, 6)
    assert SelfAttention(4, causal=True).extra_repr() == "4, causal=True"


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("change,error,words", [
    (lambda q, k, v: (q.detach().numpy(), k, v), TypeError, "query: expected a torch.Tensor"),
    (lambda q, k, v: (q[0, 0, 0], k, v), ValueError, "at least 2 dimensions"),
    (lambda q, k, v: (q.long(), k, v), TypeError, "floating-point"),
    (lambda q, k, v: (q, k.float(), v), TypeError, "key: expected the query's dtype"),
    (lambda q, k, v: (q, k[..., :3], v), ValueError, "key: expected shape (*batch=(2, 3), S, E=4)"),
    (lambda q, k, v: (q, k[:1], v[:1]), ValueError, "key: expected shape"),
    (lambda q, k, v: (q, k, v[..., :5, :]), ValueError, "value: expected shape (*batch=(2, 3), S=6"),
    (lambda q, k, v: (q, k, v * math.nan), ValueError, "value: expected finite values"),
])
def test_bad_tensors_get_clear_errors(change, error, words):
    q, k, v = (t.detach() for t in qkv())
    with pytest.raises(error) as info:
        attention(*change(q, k, v))
    assert words in str(info.value)


@pytest.mark.parametrize("kw,error,words", [
    ({"mask": torch.ones(5, 6, dtype=torch.int64)}, TypeError, "mask: expected dtype torch.bool"),
    ({"mask": torch.ones(6, 5, dtype=torch.bool)}, ValueError, "mask: expected shape (L=5, S=6)"),
    ({"mask": torch.ones(3, 5, 6, dtype=torch.bool)}, ValueError, "mask: expected shape"),
    ({"mask": [[True]]}, TypeError, "mask: expected a torch.Tensor"),
    ({"mask": torch.zeros(5, 6, dtype=torch.bool)}, ValueError, "at least one key"),
    ({"mask": torch.full((5, 6), -math.inf, dtype=torch.float64)}, ValueError, "at least one key"),
    ({"mask": torch.full((5, 6), math.nan, dtype=torch.float64)}, ValueError, "NaN or +inf"),
    ({"mask": torch.ones(5, 6, dtype=torch.bool), "causal": True}, ValueError, "causal=True"),
    ({"causal": 1}, TypeError, "causal: expected a bool"),
    ({"scale": 0.0}, ValueError, "scale"),
    ({"scale": -1.0}, ValueError, "scale"),
])
def test_bad_masks_and_options_get_clear_errors(kw, error, words):
    q, k, v = (t.detach() for t in qkv())
    with pytest.raises(error) as info:
        attention(q, k, v, **kw)
    assert words in str(info.value)


def test_empty_sequences_are_refused():
    q, k, v = (t.detach() for t in qkv())
    with pytest.raises(ValueError, match="at least one query, one key"):
        attention(q[..., :0, :], k, v)


@pytest.mark.parametrize("x,error,words", [
    (torch.randn(5, 2, 7), ValueError, "x: expected shape (T, B, n=6)"),
    (torch.randn(5, 6), ValueError, "x: expected shape (T, B, n=6)"),
    (torch.randn(5, 2, 6, dtype=torch.float64), TypeError, "x: expected dtype torch.float32"),
    ("text", TypeError, "x: expected a torch.Tensor"),
])
def test_self_attention_bad_input(x, error, words):
    with pytest.raises(error) as info:
        SelfAttention(6)(x)
    assert words in str(info.value)


@pytest.mark.parametrize("kw,error", [({"hidden_size": 0}, ValueError),
                                      ({"hidden_size": 4, "causal": "yes"}, TypeError)])
def test_self_attention_bad_arguments(kw, error):
    with pytest.raises(error):
        SelfAttention(**kw)
