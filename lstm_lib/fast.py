"""The LSTM time loop with a hand-written backward pass (appendix: Performance).

``modules.lstm_layer`` is the loop as Chapter 4 reads it: about ten tensor
operations per step, each one recorded by autograd and replayed backwards.
At the sizes of this course (B = 64, n = 64) one operation on a (B, n) block
costs a few microseconds, most of it fixed overhead, so the loop's time goes
into the number of operations, not into arithmetic. ``lstm_layer_fast``
computes the same function with fewer, larger operations:

* forward: autograd records nothing inside the loop; every step writes into
  buffers allocated once, and the three sigmoids and the tanh of the gates
  are a single sigmoid, because tanh(z) = 2 sigmoid(2z) - 1;
* backward: backpropagation through time written out by hand (below). Every
  factor that does not depend on the incoming gradient is computed for all
  steps at once before the loop; the loop keeps only what must be sequential;
  dL/dW_hh is one matrix product over all steps after it.

It takes the same arguments and returns the same values as
``modules.lstm_layer``; ``tests/test_fast.py`` holds the two equal (and both
equal to ``torch.nn.LSTM``), and ``torch.autograd.gradcheck`` checks the
backward pass.

Second derivatives (a gradient penalty: ``autograd.grad(loss, ...,
create_graph=True)``, then a loss on that gradient) are right too, by another
route: the hand-written pass computes numbers, not a graph, so when autograd
asks for a differentiable gradient (grad mode on inside ``backward``, which
is what ``create_graph=True`` means) the backward pass recomputes the layer
out of place, under autograd (``_layer_by_autograd``: the forward pass's
arithmetic, one sigmoid for the four gates, without ``out=``), and
differentiates that (``_backward_by_autograd``). ``torch.autograd.gradgradcheck`` and
``torch.nn.LSTM``'s own second derivatives check it. For that recomputation
the forward pass keeps its inputs (x_proj, h0, c0) besides its buffers.

The backward pass, rows of the batch as examples (NOTATION's symbols; Z_t is
the (B, 4n) pre-activation, P_t = x_proj[t], so Z_t = P_t + H_{t-1} W_h^T)::

    dh_t = dL/dh_t (from the output at t) + dZ_{t+1} W_h       (from step t+1)
    dc_t = f_{t+1} * dc_{t+1} + dh_t * o_t * (1 - tanh(c_t)^2)
    dZ_o = dh_t * tanh(c_t) * o_t (1 - o_t)
    dZ_i = dc_t * c_tilde_t * i_t (1 - i_t)
    dZ_f = dc_t * c_{t-1} * f_t (1 - f_t)
    dZ_c = dc_t * i_t * (1 - c_tilde_t^2)
    dL/dP_t = dZ_t,   dL/dh_0 = dZ_1 W_h,   dL/dc_0 = f_1 * dc_1,
    dL/dW_h = sum_t dZ_t^T H_{t-1}

This file does not import the numpy reference (``reference.lstm_backward``
derives the same equations); the tests compare both against autograd.
"""
from __future__ import annotations

import torch

__all__ = ["lstm_layer_fast", "LSTMLayerFunction", "applies"]


def applies(x_proj):
    """True if ``lstm_layer_fast`` handles this input: a float32 or float64 CPU tensor."""
    return x_proj.device.type == "cpu" and x_proj.dtype in (torch.float32, torch.float64)


def lstm_layer_fast(x_proj, h0, c0, W_hh):
    """Same as ``modules.lstm_layer``, with a hand-written backward pass.

    x_proj: (T, B, 4n) input projections X_t W_x^T + b.  h0, c0: (B, n).
    W_hh: (4n, n).  Returns h (T, B, n), the hidden state at every step, and (h_T, c_T).
    """
    h, h_T, c_T = LSTMLayerFunction.apply(x_proj, h0, c0, W_hh)
    return h, (h_T, c_T)


class LSTMLayerFunction(torch.autograd.Function):
    """One LSTM layer, one direction: forward loop and backpropagation through time."""

    @staticmethod
    def forward(ctx, x_proj, h0, c0, W_hh):
        T, B, four_n = x_proj.shape
        n = four_n // 4
        # Gate blocks in PyTorch's order i, f, g (our c_tilde), o. Doubling the
        # candidate's pre-activation lets one sigmoid serve all four blocks:
        # s = sigmoid(2 z_c) and c_tilde = tanh(z_c) = 2 s - 1.
        scale = x_proj.new_ones(4 * n)
        scale[2 * n:3 * n] = 2
        W_hh_T = (W_hh * scale[:, None]).T                # (n, 4n)
        Z = x_proj.new_empty(T, B, 4 * n)                 # pre-activations, then the gates
        torch.mul(x_proj, scale, out=Z)
        H = x_proj.new_empty(T + 1, B, n)                 # H[0] = h_0, H[t] = h_t
        C = x_proj.new_empty(T + 1, B, n)                 # C[0] = c_0, C[t] = c_t
        tanh_C = x_proj.new_empty(T, B, n)                # tanh(c_t) for t = 1..T
        H[0], C[0] = h0, c0
        # Views of every step, made once (indexing inside the loop costs an operation each).
        z, h, c, tc = Z.unbind(0), H.unbind(0), C.unbind(0), tanh_C.unbind(0)
        i, f, s, o = (Z[:, :, k * n:(k + 1) * n].unbind(0) for k in range(4))
        for t in range(T):
            torch.addmm(z[t], h[t], W_hh_T, out=z[t])     # Z_t = P_t + H_{t-1} W_h^T
            z[t].sigmoid_()                               # i, f, s, o
            torch.mul(f[t], c[t], out=c[t + 1])           # c_t = f * c_{t-1}
            c[t + 1].addcmul_(i[t], s[t], value=2)        #     + i * (2 s - 1)
            c[t + 1].sub_(i[t])
            torch.tanh(c[t + 1], out=tc[t])
            torch.mul(o[t], tc[t], out=h[t + 1])          # h_t = o * tanh(c_t)
        ctx.save_for_backward(Z, H, C, tanh_C, W_hh, x_proj, h0, c0)
        return H[1:], H[T].clone(), C[T].clone()

    @staticmethod
    def backward(ctx, dH_out, dh_T, dc_T):
        if torch.is_grad_enabled():        # create_graph=True: this gradient will be differentiated
            return _backward_by_autograd(ctx, dH_out, dh_T, dc_T)
        gates, H, C, tanh_C, W_hh = ctx.saved_tensors[:5]
        T, B, four_n = gates.shape
        n = four_n // 4
        i, f, s, o = (gates[..., k * n:(k + 1) * n] for k in range(4))
        # Factors that do not depend on the incoming gradient: all steps at once.
        c_tilde = torch.mul(s, 2).sub_(1)
        slope = torch.addcmul(gates, gates, gates, value=-1)        # sigma' = s (1 - s)
        h_to_c = torch.addcmul(o, o, tanh_C * tanh_C, value=-1)     # o (1 - tanh(c)^2)
        h_to_zo = slope[..., 3 * n:] * tanh_C                       # tanh(c) o (1 - o)
        c_to_z = gates.new_empty(T, B, 3, n)                        # dZ_i, dZ_f, dZ_c per unit dc
        torch.mul(slope[..., :n], c_tilde, out=c_to_z[:, :, 0])
        torch.mul(slope[..., n:2 * n], C[:-1], out=c_to_z[:, :, 1])
        torch.addcmul(i, i, c_tilde * c_tilde, value=-1, out=c_to_z[:, :, 2])

        dZ = torch.empty_like(gates)
        dH = dH_out.clone(memory_format=torch.contiguous_format)    # becomes dL/dh_t in full
        dH[T - 1] += dh_T
        dc = dc_T.clone()                                           # dL/dc_t, updated in place
        dc_3 = dc.unsqueeze(1)                                      # (B, 1, n): one dc, three gates
        dh, dz = dH.unbind(0), dZ.unbind(0)
        dz_ifc = dZ[..., :3 * n].view(T, B, 3, n).unbind(0)
        dz_o = dZ[..., 3 * n:].unbind(0)
        a, b, k, f_t = h_to_c.unbind(0), h_to_zo.unbind(0), c_to_z.unbind(0), f.unbind(0)
        for t in range(T - 1, -1, -1):
            dc.addcmul_(dh[t], a[t])                      # dc_t += dh_t o (1 - tanh^2 c_t)
            torch.mul(dh[t], b[t], out=dz_o[t])           # dZ_o
            torch.mul(dc_3, k[t], out=dz_ifc[t])          # dZ_i, dZ_f, dZ_c
            dc.mul_(f_t[t])                               # dc_{t-1} gets f_t dc_t
            if t > 0:
                torch.addmm(dh[t - 1], dz[t], W_hh, out=dh[t - 1])   # dh_{t-1} += dZ_t W_h

        need_x, need_h0, need_c0, need_W = ctx.needs_input_grad
        dh0 = dz[0] @ W_hh if need_h0 else None
        dW = (dZ.view(T * B, 4 * n).T @ H[:-1].reshape(T * B, n)) if need_W else None
        return (dZ if need_x else None), dh0, (dc if need_c0 else None), dW


def _layer_by_autograd(x_proj, h0, c0, W_hh):
    """The forward pass's arithmetic out of place, so that autograd records it.

    Same function as ``LSTMLayerFunction.forward`` (and ``modules.lstm_layer``, which
    this file does not import: modules imports it). Returns h (T, B, n), h_T, c_T.
    """
    n = h0.shape[1]
    scale = x_proj.new_ones(4 * n)
    scale[2 * n:3 * n] = 2                            # tanh(z) = 2 sigmoid(2z) - 1
    W_hh_T = (W_hh * scale[:, None]).T
    P = x_proj * scale
    h, c, hs = h0, c0, []
    for t in range(x_proj.shape[0]):
        i, f, s, o = torch.addmm(P[t], h, W_hh_T).sigmoid().chunk(4, dim=1)
        c = f * c + i * (2 * s - 1)
        h = o * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs), h, c


def _backward_by_autograd(ctx, dH_out, dh_T, dc_T):
    """The backward pass as a graph, for create_graph=True: recompute the layer under
    autograd, from the saved inputs, and differentiate that."""
    W_hh, x_proj, h0, c0 = ctx.saved_tensors[4:]
    inputs = (x_proj, h0, c0, W_hh)
    wanted = [k for k, need in enumerate(ctx.needs_input_grad) if need]
    h, h_T, c_T = _layer_by_autograd(*inputs)
    grads = torch.autograd.grad((h, h_T, c_T), [inputs[k] for k in wanted], (dH_out, dh_T, dc_T),
                                create_graph=True, allow_unused=True)
    out = [None] * 4
    for k, g in zip(wanted, grads):
        out[k] = g
    return tuple(out)
