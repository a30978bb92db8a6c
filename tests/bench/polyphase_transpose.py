"""A negative result, kept so that it can be re-measured: the depthwise transposed passes of the filtered leaky ReLU
(its up passes, and the adjoints of its strided down passes) written as polyphase stride-1 convolutions, against
`F.conv_transpose2d(groups=C)` (which PyTorch runs outside oneDNN on a CPU). Checks the two equal in float64 over
many shapes, then times both at the demo preset's shapes.

    OMP_NUM_THREADS=1 .venv/bin/python tests/bench/polyphase_transpose.py
"""
import torch, time, torch.nn.functional as F
CL = torch.channels_last
def _crop_pad(x, axis, a, b):
    if a == 0 and b == 0: return x
    if a <= 0 and b <= 0:
        sl = [slice(None)] * 4; sl[axis] = slice(-a, x.shape[axis] + b); return x[tuple(sl)]
    if a < 0: x = _crop_pad(x, axis, a, 0); a = 0
    if b < 0: x = _crop_pad(x, axis, 0, b); b = 0
    p = [a, b, 0, 0] if axis == 3 else [0, 0, a, b]
    return F.pad(x, p)

def dw_conv_transpose(x, k, axis, u, P, opad):
    "F.conv_transpose2d(x, k, groups=C) for a depthwise kernel k [C,1,K] along `axis` with stride u, padding P, output_padding opad, as u stride-1 convs (polyphase)."
    L, K = x.shape[axis], k.shape[-1]
    Lout = (L - 1) * u - 2 * P + K + opad
    shape = list(x.shape); shape[axis] = Lout
    out = torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=CL)
    C = x.shape[1]
    for rho in range(min(u, Lout)):
        n = -(-(Lout - rho) // u)
        r = (rho + P) % u; off = (rho + P) // u
        kr = k[..., r::u]                                  # k_r[t] = k[u t + r]
        T = kr.shape[-1]
        sl = [slice(None)] * 4; sl[axis] = slice(rho, None, u)
        if T == 0: out[tuple(sl)] = 0; continue
        kk = kr.flip(-1).reshape(C, 1, *( (T, 1) if axis == 2 else (1, T)))
        lp = T - 1 - off
        xp = _crop_pad(x, axis, lp, n + T - 1 - (L + lp))
        out[tuple(sl)] = F.conv2d(xp, kk.contiguous(memory_format=CL), groups=C)
    return out

torch.manual_seed(0)
def t(fn, n=10):
    fn(); t0=time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter()-t0)/n*1000
import itertools
bad = 0
for axis, u, K, L, P, opad in itertools.product((2, 3), (1, 2, 4), (3, 12, 24), (5, 17), (0, 3, 11, 13), (0, 1)):
    if opad >= u: continue
    x = torch.randn(2, 4, 9, 9) if False else torch.randn(2, 4, L if axis == 2 else 7, L if axis == 3 else 7, dtype=torch.float64)
    k = torch.randn(4, 1, K, dtype=torch.float64)
    kk = k.view(4, 1, K, 1) if axis == 2 else k.view(4, 1, 1, K)
    st = (u, 1) if axis == 2 else (1, u); pd = (P, 0) if axis == 2 else (0, P); op = (opad, 0) if axis == 2 else (0, opad)
    try: ref = F.conv_transpose2d(x, kk, stride=st, padding=pd, output_padding=op, groups=4)
    except RuntimeError: continue
    got = dw_conv_transpose(x.contiguous(memory_format=CL), k, axis, u, P, opad)
    if got.shape != ref.shape or (got - ref).abs().max() > 1e-10: bad += 1; print('BAD', axis, u, K, L, P, opad, got.shape, ref.shape)
print('polyphase vs conv_transpose2d, float64: mismatching cases', bad); assert bad == 0
g = torch.randn(8,32,106,48).contiguous(memory_format=CL); k = torch.randn(32,1,12)
kk = k.view(32,1,1,12).contiguous(memory_format=CL)
print(f"adjoint of a x2 down pass along W, [8, 32, 106, 48]: conv_transpose2d {t(lambda: F.conv_transpose2d(g, kk, stride=(1,2), output_padding=(0,1), groups=32)):.2f} ms, polyphase {t(lambda: dw_conv_transpose(g, k, 3, 2, 0, 1)):.2f} ms")
g = torch.randn(8,32,106,50).contiguous(memory_format=CL)
print(f"x2 up pass along W, [8, 32, 106, 50]: conv_transpose2d {t(lambda: F.conv_transpose2d(g, kk, stride=(1,2), padding=(0,5), groups=32)):.2f} ms, polyphase {t(lambda: dw_conv_transpose(g, k, 3, 2, 5, 0)):.2f} ms")
g = torch.randn(8,32,50,50).contiguous(memory_format=CL); kh = k.view(32,1,12,1).contiguous(memory_format=CL)
print(f"x2 up pass along H, [8, 32, 50, 50]: conv_transpose2d {t(lambda: F.conv_transpose2d(g, kh, stride=(2,1), padding=(5,0), groups=32)):.2f} ms, polyphase {t(lambda: dw_conv_transpose(g, k, 2, 2, 5, 0)):.2f} ms")
# where the polyphase version's time goes: one phase's 6-tap convolution, the padding copy, the interleaving copy
g = torch.randn(8,32,106,48).contiguous(memory_format=CL)
k6 = torch.randn(32,1,1,6).contiguous(memory_format=CL)
gp = F.pad(g, [5,5]); out = torch.empty(8,32,106,107, memory_format=CL); y = F.conv2d(gp, k6, groups=32)
print(f"one phase: 6-tap conv {t(lambda: F.conv2d(gp, k6, groups=32)):.2f} ms, pad {t(lambda: F.pad(g, [5, 5])):.2f} ms, "
      f"interleave {t(lambda: out[..., 1::2].copy_(y[..., :53])):.2f} ms")
