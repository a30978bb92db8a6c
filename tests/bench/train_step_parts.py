"""Where the demo-preset training step spends its time: G and D forward / forward+backward, ref vs fast ops,
then torch.profiler's top operators for the fast G forward+backward and for the whole G+D step (default ops).

    OMP_NUM_THREADS=2 .venv/bin/python tests/bench/train_step_parts.py
"""
import torch, time, torch.nn.functional as F
import anyres_nb.fastops
from anyres_nb import ops
from anyres_nb.generator import Generator
from anyres_nb.discriminator import Discriminator
from anyres_nb.train import make_config
cfg = make_config(preset='demo'); G_kw, D_kw, B, res = cfg['G_kwargs'], cfg['D_kwargs'], cfg['batch'], cfg['res']
torch.manual_seed(0); G, D = Generator(**G_kw), Discriminator(**D_kw)
real = torch.rand(B, 3, res, res)*2-1
def t(fn, n=10):
    fn(); t0=time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter()-t0)/n
for impl in ('ref','fast'):
    with ops.use_impl(impl):
        z = torch.randn(B, G.z_dim)
        def gf():
            with torch.no_grad(): G(z, None)
        def gfb():
            G.requires_grad_(True); G(z, None).mean().backward(); G.zero_grad(set_to_none=True)
        img = torch.randn(B,3,res,res)
        def df():
            with torch.no_grad(): D(img, None)
        def dfb():
            D.requires_grad_(True); x = img.clone().requires_grad_(True); D(x, None).mean().backward(); D.zero_grad(set_to_none=True)
        print(impl, {k: round(t(f)*1000,1) for k,f in dict(G_fwd=gf, G_fwd_bwd=gfb, D_fwd=df, D_fwd_bwd=dfb).items()}, 'ms')
from torch.profiler import profile, ProfilerActivity
with ops.use_impl('fast'):
    G.requires_grad_(True); z = torch.randn(B, G.z_dim)
    G(z, None).mean().backward()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3): G(z, None).mean().backward()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

# the whole demo-preset G+D step (as tests/bench/generator_speed.py times it), default ops, its top operators
def gd_step():
    G.requires_grad_(True); D.requires_grad_(False)
    F.softplus(-D(G(torch.randn(B, G.z_dim), None), None)).mean().backward()
    G.requires_grad_(False); D.requires_grad_(True)
    with torch.no_grad(): fake = G(torch.randn(B, G.z_dim), None)
    (F.softplus(D(fake, None)).mean() + F.softplus(-D(real, None)).mean()).backward()
    G.zero_grad(set_to_none=True); D.zero_grad(set_to_none=True)
print(f'G+D step, default ops ({ops.get_impl()!r}): {t(gd_step, 5) * 1000:.0f} ms; with ref ops:', end=' ')
with ops.use_impl('ref'): print(f'{t(gd_step, 5) * 1000:.0f} ms')
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(3): gd_step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))

# the modulated convolution's hand-written backward against autograd's, alternating rounds (medians)
import statistics
import anyres_nb.fastops as fastops
ts = {True: [], False: []}
for _ in range(5):
    for hb in (True, False):
        fastops.HAND_BACKWARD = hb; ts[hb].append(t(gd_step, 3))
fastops.HAND_BACKWARD = True
hand, auto = statistics.median(ts[True]) * 1000, statistics.median(ts[False]) * 1000
print(f'G+D step, default ops: hand-written modulated-convolution backward {hand:.0f} ms, autograd\'s {auto:.0f} ms ({auto / hand:.2f}x)')
