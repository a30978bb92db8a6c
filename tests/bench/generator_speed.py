"""Generator speed: the 'fast' and 'bf16' ops of `anyres_nb.fastops` against the 'ref' ops, side by side.

    .venv/bin/python tests/bench/generator_speed.py              # everything, a few minutes on 2 cores
    .venv/bin/python tests/bench/generator_speed.py --skip-ref-256 --skip-bf16   # the quick part only
    .venv/bin/python tests/bench/generator_speed.py --threads 1  # pin torch to one thread in every measurement
    .venv/bin/python tests/bench/generator_speed.py --thp        # THP_MEM_ALLOC_ENABLE=1 (huge pages) in the children

Measured in one run, each case in its own subprocess (so that its peak RSS is its own):
  * the float32 and bfloat16 matrix-multiply peak of this CPU (best of 8 2048^2 float32 products, 1024^2 bfloat16);
  * generator forward, ref vs fast: the public fixture config (32 px, batch 8) and the full-size
    StyleGAN3-T 256 px config the authors released (z = w = 512, channel_base 32768, channel_max 512,
    14 layers, 3x3 convs, 2 mapping layers, patch mode with scale_mapping_min 1 / max 8, random weights,
    batch 1);
  * the FLOPs of the 256 px modulated convolutions (counted per layer from the layer shapes), the rate
    the fast forward achieves on them, and the time they would need at the measured matmul peak;
  * a G+D training step (forward + backward of G and D, non-saturating logistic loss, the 'demo'
    preset of `anyres_nb.train`), ref vs fast;
  * the 'bf16' mode at 256 px: its time and PSNR against the float32 output (images in [-1, 1]);
  * peak memory: each subprocess's max RSS, and its growth during the measurement.
Times are wall-clock seconds (median of the timed repetitions, after a warm-up); other processes on
the machine slow them down, so the load average is printed at the start and the end.
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))   # run from a source checkout without installing

G256 = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, mapping_kwargs=dict(num_layers=2),
            training_mode='patch', scale_mapping_kwargs=dict(scale_mapping_min=1, scale_mapping_max=8,
            scale_mapping_norm='positive'), channel_base=32768, channel_max=512, num_layers=14, conv_kernel=3,
            num_fp16_res=4, magnitude_ema_beta=0.5 ** (32 / 20e3))


# ------------------------------------------------------------------------------------------ children
def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB


def _timeit(fn, reps, warmup=1):
    "Wall-clock and process CPU seconds of `reps` calls of `fn` after `warmup` calls."
    for _ in range(warmup): fn()
    ts, cs = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time(); fn()
        ts.append(time.perf_counter() - t); cs.append(time.process_time() - c)
    return ts, cs


def child_peak():
    import torch
    from anyres_nb.fastops import matmul_peak, bf16_supported
    return dict(fp32=matmul_peak(torch.float32, 2048, 8), bf16=matmul_peak(torch.bfloat16, 1024, 2),
                bf16_native=bf16_supported(), threads=torch.get_num_threads(),
                capability=torch.backends.cpu.get_cpu_capability())


def _generator(name):
    import torch
    from anyres_nb.generator import Generator
    torch.manual_seed(0)
    if name == 'fixture':
        from pathlib import Path
        fx = torch.load(Path(__file__).resolve().parents[1]/'fixtures'/'public_generator.pt', weights_only=False)
        G = Generator(**fx['init_kwargs']); G.load_state_dict(fx['state_dict'])
        return G.eval(), 8
    return Generator(**G256).eval(), 1


def child_forward(name, impl, reps):
    import torch, warnings
    import anyres_nb.fastops as fo
    from anyres_nb import ops
    G, batch = _generator(name)
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(1))
    rss0 = _rss_mb()
    out = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with (nullcontext() if impl == 'default' else ops.use_impl(impl)):   # 'default': the Generator as a user builds it
            out['impl'] = ops.get_impl()
            ts, cs = _timeit(lambda: G(z, None), reps)
            img = G(z, None)
        if impl == 'bf16':   # its accuracy against the float32 ('fast') image of the same network and z
            with ops.use_impl('fast'): ref = G(z, None)
            out['psnr'] = fo.pooled_psnr(img, ref)
            out['psnr_peak'] = fo.pooled_psnr(img, ref, data_range=float(ref.max() - ref.min()))
    out.update(times=ts, cpu=cs, rss=_rss_mb(), rss_growth=_rss_mb() - rss0,
               flops=sum(fo.modconv_flops(G.synthesis.layers(), batch)), batch=batch)
    return out


def child_train(impl, reps):
    import torch
    import torch.nn.functional as F
    import anyres_nb.fastops  # noqa: F401  (registers 'fast')
    from anyres_nb import ops
    from anyres_nb.generator import Generator
    from anyres_nb.discriminator import Discriminator
    try:
        from anyres_nb.train import make_config
        cfg = make_config(preset='demo'); G_kw, D_kw, B, res = cfg['G_kwargs'], cfg['D_kwargs'], cfg['batch'], cfg['res']
    except Exception:   # no train module: the demo sizes
        res, B = 32, 8
        G_kw = dict(z_dim=64, w_dim=64, c_dim=0, img_resolution=res, img_channels=3, mapping_kwargs=dict(num_layers=2),
                    channel_base=2048, channel_max=64, num_layers=6, num_critical=2, margin_size=6, conv_kernel=3)
        D_kw = dict(c_dim=0, img_resolution=res, img_channels=3, channel_base=1024, channel_max=64, architecture='resnet',
                    epilogue_kwargs=dict(mbstd_group_size=4))
    torch.manual_seed(0)
    G, D = Generator(**G_kw), Discriminator(**D_kw)
    real = torch.rand(B, 3, res, res) * 2 - 1
    gen = torch.Generator().manual_seed(2)

    def step():   # one main G phase and one main D phase of StyleGAN training (no R1, no optimizer)
        G.requires_grad_(True); D.requires_grad_(False)
        F.softplus(-D(G(torch.randn(B, G.z_dim, generator=gen), None), None)).mean().backward()
        G.requires_grad_(False); D.requires_grad_(True)
        with torch.no_grad(): fake = G(torch.randn(B, G.z_dim, generator=gen), None)
        (F.softplus(D(fake, None)).mean() + F.softplus(-D(real, None)).mean()).backward()
        G.zero_grad(set_to_none=True); D.zero_grad(set_to_none=True)

    rss0 = _rss_mb()
    with (nullcontext() if impl == 'default' else ops.use_impl(impl)):
        used = ops.get_impl()
        ts, cs = _timeit(step, reps, warmup=2)
        from torch.utils.flop_counter import FlopCounterMode      # convolutions and matrix products, forward + backward
        with FlopCounterMode(display=False) as fc: step()
    return dict(times=ts, cpu=cs, rss=_rss_mb(), rss_growth=_rss_mb() - rss0, batch=B, res=res, impl=used, flops=fc.get_total_flops(),
                G_channels=int(G.synthesis.layers()[0].in_channels), G_layers=len(G.synthesis.layers()))


def run_child(args):
    import torch
    if args.threads: torch.set_num_threads(args.threads)
    kind, *rest = args.child.split(':')
    if kind == 'peak': r = child_peak()
    elif kind == 'fwd': r = child_forward(rest[0], rest[1], args.reps)
    elif kind == 'train': r = child_train(rest[0], args.reps)
    else: raise SystemExit(f'unknown child job {args.child!r}')
    print('RESULT ' + json.dumps(r))


# ------------------------------------------------------------------------------------------ parent
def spawn(job, args, reps):
    cmd = [sys.executable, __file__, '--child', job, '--reps', str(reps)] + (['--threads', str(args.threads)] if args.threads else [])
    env = dict(os.environ)
    if args.thp: env['THP_MEM_ALLOC_ENABLE'] = '1'
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
    for line in p.stdout.splitlines():
        if line.startswith('RESULT '):
            r = json.loads(line[7:]); r['wall'] = time.perf_counter() - t; return r
    print(f'  [{job} failed: exit {p.returncode}]\n' + (p.stderr or p.stdout)[-2000:], flush=True)
    return None


def med(r): return statistics.median(r['times']) if r else float('nan')
def cpu(r): return min(r['cpu']) if r else float('nan')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--child', help=argparse.SUPPRESS)
    ap.add_argument('--reps', type=int, default=3, help='timed repetitions per case (after a warm-up)')
    ap.add_argument('--threads', type=int, default=0, help='torch threads in each measurement (default: torch default)')
    ap.add_argument('--thp', action='store_true', help='set THP_MEM_ALLOC_ENABLE=1 for the measurements')
    ap.add_argument('--skip-ref-256', action='store_true', help='skip the slow reference forward at 256 px')
    ap.add_argument('--skip-bf16', action='store_true', help='skip the bfloat16 measurement')
    ap.add_argument('--parts', default='peak,fixture,256,train,bf16',
                    help='comma-separated subset of: peak, fixture, 256, train, bf16 (default: all)')
    args = ap.parse_args()
    if args.child: return run_child(args)
    parts = set(args.parts.split(','))

    import torch
    load0 = os.getloadavg()
    print(f'machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, torch {torch.__version__}, '
          f'threads {args.threads or torch.get_num_threads()}, THP_MEM_ALLOC_ENABLE={"1" if args.thp else os.environ.get("THP_MEM_ALLOC_ENABLE", "unset")}')
    print(f'load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}')
    print('times: wall-clock median of the repetitions, and [process CPU time, best repetition]', flush=True)

    peak = spawn('peak', args, 1) if parts & {'peak', '256', 'train'} else None
    pf = peak['fp32'] if peak else float('nan')
    if peak:
        print(f'matmul peak: float32 {peak["fp32"] / 1e9:.1f} GFLOP/s, bfloat16 {peak["bf16"] / 1e9:.1f} GFLOP/s '
              f'(native bfloat16: {"yes" if peak["bf16_native"] else "no"}; CPU capability {peak["capability"]})', flush=True)

    res = {}
    print("\ngenerator forward, 'ref' ops vs a plainly built Generator (its default ops)")
    print('                                         ref s          default s       speed-up  max RSS MB ref / default (growth)')
    rs = lambda r: f'{r["rss"]:.0f} ({r["rss_growth"]:+.0f})' if r else '-'
    for name, label, r_reps, f_reps in [('fixture', 'fixture 32 px, batch 8', max(args.reps, 10), max(args.reps, 10)),
                                        ('256', 'StyleGAN3-T 256 px, batch 1', max(1, args.reps - 1), args.reps)]:
        if name not in parts: res[name] = (None, None); continue
        ref = None if (name == '256' and args.skip_ref_256) else spawn(f'fwd:{name}:ref', args, r_reps)
        fast = spawn(f'fwd:{name}:default', args, f_reps)     # a plainly built Generator: no ops switch
        res[name] = (ref, fast)
        print(f'  {label:30s} {med(ref):7.3f} [{cpu(ref):7.3f}] {med(fast):7.3f} [{cpu(fast):7.3f}] '
              f'{med(ref) / med(fast):5.1f}x [{cpu(ref) / cpu(fast):4.1f}x]  {rs(ref)} / {rs(fast)}', flush=True)
    ref256, fast256 = res['256']
    if fast256:
        fl, t_peak = fast256['flops'], fast256['flops'] / pf
        print(f'  the plainly built Generator ran ops {fast256["impl"]!r}')
        if ref256: print(f'  256 px, default >= 8x faster than ref (wall): {"met" if med(ref256) / med(fast256) >= 8 else "NOT met"} '
                         f'(our \'ref\' ops equal the authors\' reference numerically; its code is not run here)')
        print(f'\nmodulated convolutions at 256 px: {fl / 1e9:.1f} GFLOP per image; rate over the whole forward: fast '
              f'{fl / med(fast256) / 1e9:.1f} GFLOP/s' + (f', ref {fl / med(ref256) / 1e9:.1f} GFLOP/s' if ref256 else '') +
              f'; float32 matmul peak {pf / 1e9:.1f} GFLOP/s')
        print(f'  at the peak they need {t_peak:.2f} s; the fast forward takes {med(fast256) / t_peak:.2f}x that '
              f'(target <= 2x: {"met" if med(fast256) / t_peak <= 2 else "NOT met"})', flush=True)

    print('\ntraining step, G+D forward+backward')
    tr, tf = (spawn('train:ref', args, max(args.reps, 5)), spawn('train:default', args, max(args.reps, 5))) if 'train' in parts else (None, None)
    if tr and tf:
        print(f'  demo preset ({tf["res"]} px, batch {tf["batch"]}, {tf["G_layers"]} G layers): ref {med(tr):.3f} [{cpu(tr):.3f}] s, '
              f'default ({tf["impl"]}) {med(tf):.3f} [{cpu(tf):.3f}] s: {med(tr) / med(tf):.2f}x [{cpu(tr) / cpu(tf):.2f}x] '
              f'(target >= 4x: {"met" if med(tr) / med(tf) >= 4 else "NOT met"}); max RSS MB {tr["rss"]:.0f} / {tf["rss"]:.0f}', flush=True)
        fl = tf['flops']; lim = fl / pf
        print(f'  {fl / 1e9:.2f} GFLOP of convolutions and matrix products per step (torch FlopCounterMode): ref {fl / med(tr) / 1e9:.1f}, '
              f'default {fl / med(tf) / 1e9:.1f} GFLOP/s; at the float32 matmul peak ({pf / 1e9:.1f} GFLOP/s) {lim * 1e3:.0f} ms, '
              f'the step takes {med(tf) / lim:.2f}x that (target <= 1.3x: {"met" if med(tf) / lim <= 1.3 else "NOT met"})', flush=True)

    if not args.skip_bf16 and 'bf16' in parts:
        b = spawn('fwd:256:bf16', args, max(1, args.reps - 1))
        if b:
            print(f'\nbf16 at 256 px: {med(b):.2f} [{cpu(b):.2f}] s (fast float32 {med(fast256):.2f} s), PSNR vs float32 {b["psnr"]:.1f} dB '
                  f'(data range 2; {b["psnr_peak"]:.1f} dB on the image\'s own range); goal <= 2 s at >= 40 dB: '
                  f'{"met" if med(b) <= 2 and b["psnr"] >= 40 else "NOT met"}; max RSS {b["rss"]:.0f} MB', flush=True)
    load1 = os.getloadavg()
    print(f'\nload average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}')


if __name__ == '__main__':
    main()
