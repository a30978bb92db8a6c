"""Render speed and memory by canvas size, and the explorer's update time.

Each canvas size renders in a fresh process; the parent reads that process's peak resident memory from
`os.wait4` (ru_maxrss) and subtracts the canvas bytes, so what is left is the renderer's working memory,
which should not grow with the canvas. Time per megapixel should be flat across sizes too (wall-clock and
CPU time are both printed: on a machine shared with other jobs the wall-clock figure mostly measures them).
"extra" is the peak beyond the peak of a one-batch warm-up render, and beyond the canvas.

    .venv/bin/python tests/bench/render_speed.py                        # demo generator, sizes as --budget allows
    .venv/bin/python tests/bench/render_speed.py --model tiny --threads 1 --budget 1200   # renderer overhead up to 8192 px
    .venv/bin/python tests/bench/render_speed.py --explorer 20 --sizes ''  # explorer updates only

`--model`: `demo` (the bundled checkpoint, else the demo-size random generator), `tiny` (a 2-layer random
generator: renderer overhead, not network cost), or a checkpoint path. Sizes whose estimated time would pass
`--budget` seconds are skipped (and said so).
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def get_generator(model):
    from anyres_nb.render import demo_generator, random_generator, load_generator
    if model == 'demo': return demo_generator(verbose=False)
    if model == 'tiny': return random_generator(channel_max=8, channel_base=512, num_layers=2, num_critical=1, margin_size=4)
    return load_generator(model)


def child(a):
    "Render one canvas; print timing and memory facts as one JSON line."
    import torch
    from anyres_nb import ops
    from anyres_nb.render import render, ws_from_seeds, _ops_impl
    if a.threads: torch.set_num_threads(a.threads)                 # this benchmark process only
    G = get_generator(a.model)
    if a.ops == 'auto': ops.set_impl(_ops_impl('auto'))               # 'fast' when anyres_nb.fastops provides it
    elif a.ops: ops.set_impl(a.ops)
    ws = ws_from_seeds(G, [0])
    dtype = dict(float32=torch.float32, uint8=torch.uint8)[a.dtype]
    render(G, ws, G.img_resolution*max(2, int(a.batch**.5 + .999)), batch=a.batch)   # warm-up: one full batch of tiles
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    out = render(G, ws, a.child, batch=a.batch, dtype=dtype)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps(dict(size=a.child, seconds=dt, cpu_seconds=dc, canvas_bytes=out.numel()*out.element_size(), base_peak_kb=base_kb,
                          patch=G.img_resolution, source=G.source, impl=ops.get_impl())))


def run_size(a, size):
    cmd = [sys.executable, __file__, '--child', str(size), '--model', a.model, '--batch', str(a.batch),
           '--dtype', a.dtype, '--ops', a.ops, '--threads', str(a.threads)]
    with tempfile.TemporaryFile('w+') as fo, tempfile.TemporaryFile('w+') as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0); fe.seek(0); out, err = fo.read(), fe.read()
    if proc.returncode != 0: raise RuntimeError(f'size {size} failed:\n{err[-2000:]}')
    r = json.loads(out.strip().splitlines()[-1])
    r['peak_mb'] = ru.ru_maxrss/1024
    r['canvas_mb'] = r['canvas_bytes']/2**20
    r['work_mb'] = r['peak_mb'] - r['canvas_mb']                       # peak minus canvas
    r['extra_mb'] = r['peak_mb'] - r['base_peak_kb']/1024 - r['canvas_mb']   # beyond the warm-up peak and the canvas
    r['s_per_mp'] = r['seconds']/(size*size/1e6)
    r['cpu_s_per_mp'] = r['cpu_seconds']/(size*size/1e6)
    return r


def bench_sizes(a):
    sizes = [int(s) for s in a.sizes.split(',') if s.strip()]
    if not sizes: return
    rows, t_start, rate = [], time.time(), None
    print(f"model={a.model} batch={a.batch} dtype={a.dtype} threads={a.threads or 'torch default'} budget={a.budget:.0f}s")
    print(f"{'size':>6} {'tiles':>6} {'time s':>8} {'s/MP':>7} {'cpu s/MP':>8} {'peak MB':>8} {'canvas MB':>9} {'peak-canvas':>11} {'extra':>6}")
    for size in sizes:
        if rate is not None:
            est = rate*size*size/1e6*1.1 + 10
            left = a.budget - (time.time() - t_start)
            if est > left:
                print(f"{size:>6} skipped: estimated {est:.0f} s, {max(left, 0):.0f} s of --budget left"); continue
        r = run_size(a, size); rows.append(r); rate = r['s_per_mp']
        tiles = (-(-size//r['patch']))**2
        print(f"{size:>6} {tiles:>6} {r['seconds']:>8.1f} {r['s_per_mp']:>7.2f} {r['cpu_s_per_mp']:>8.2f} {r['peak_mb']:>8.1f} {r['canvas_mb']:>9.1f} "
              f"{r['work_mb']:>11.1f} {r['extra_mb']:>6.1f}", flush=True)
    if len(rows) > 1:
        sp, cp, wk = ([r[k] for r in rows] for k in ('s_per_mp', 'cpu_s_per_mp', 'work_mb'))
        print(f"time per MP: {min(sp):.2f}..{max(sp):.2f} s wall (spread {100*(max(sp)/min(sp) - 1):.1f}%, target < 15%), "
              f"{min(cp):.2f}..{max(cp):.2f} s CPU (spread {100*(max(cp)/min(cp) - 1):.1f}%; CPU time is the fairer "
              f"figure on a shared machine; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"peak minus canvas: {min(wk):.1f}..{max(wk):.1f} MB (spread {100*(max(wk)/min(wk) - 1):.1f}%)")
    print(f"generator: {rows[0]['source'] if rows else '-'}, {rows[0]['patch'] if rows else '-'} px tiles, ops impl {rows[0]['impl'] if rows else '-'}")


def bench_explorer(a):
    import numpy as np
    from anyres_nb.widgets import Explorer
    import torch
    from anyres_nb import ops
    from anyres_nb.render import _ops_impl
    if a.threads: torch.set_num_threads(a.threads)                 # this benchmark process only
    G = get_generator(a.model)
    ops.set_impl(_ops_impl('auto') if a.ops == 'auto' else a.ops)
    ex = Explorer(G, threaded=False)
    rng = np.random.default_rng(0)
    ts, cs = [], []
    for k in range(a.explorer):
        t0, c0 = time.perf_counter(), time.process_time()
        with ex.hold():
            ex.zoom.value = float(2**rng.uniform(0, np.log2(ex.max_zoom)))
            ex.pan_x.value, ex.pan_y.value = (float(v) for v in rng.uniform(-1, 1, 2))
        ts.append(time.perf_counter() - t0); cs.append(time.process_time() - c0)
    t0 = time.perf_counter(); ex.seed.value += 1; t_seed = time.perf_counter() - t0
    ts = sorted(ts)
    print(f"explorer ({G.source}, crop {ex.crop_size} px, global {ex.global_size} px, threads {torch.get_num_threads()}, ops {ops.get_impl()}): "
          f"zoom/pan update median {1e3*statistics.median(ts):.0f} ms, p90 {1e3*ts[int(.9*(len(ts) - 1))]:.0f} ms, "
          f"max {1e3*ts[-1]:.0f} ms over {len(ts)} (CPU time median {1e3*statistics.median(cs):.0f} ms); "
          f"seed change (global view too) {1e3*t_seed:.0f} ms; target < 500 ms; load average {os.getloadavg()[0]:.1f}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='demo')
    ap.add_argument('--sizes', default='256,512,1024,2048,4096,8192')
    ap.add_argument('--budget', type=float, default=300., help='seconds for all sizes (larger ones skipped)')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--dtype', default='float32', choices=['float32', 'uint8'])
    ap.add_argument('--ops', default='auto', help="op implementation: 'auto' ('fast' from anyres_nb.fastops when it "
                    "imports), 'ref', 'fast', ...")
    ap.add_argument('--threads', type=int, default=0, help='torch threads in the render processes (0: torch default); '
                    '1 gives the steadiest CPU-time figures on a shared machine')
    ap.add_argument('--explorer', type=int, default=10, help='explorer updates to time (0: none)')
    ap.add_argument('--child', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: child(a)
    else:
        bench_sizes(a)
        if a.explorer: bench_explorer(a)
