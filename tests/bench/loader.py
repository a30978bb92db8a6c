"""Patch loader throughput: patches per second of a DataLoader over `PatchDataset`.

    .venv/bin/python tests/bench/loader.py                 # hr/ part of the default synthetic set, made in a temp dir
    .venv/bin/python tests/bench/loader.py --data DIR      # DIR/hr if it exists, else DIR; a missing DIR is made (and kept)

Without --data only the HR part of the default set is rendered (`make_synthetic_set(..., n_lr=0)`: the same
160 native sizes, other scene seeds; about 1/7 of the time of the full set), unless --full-set is given.

Measures num_workers 0 and 2 (or --workers) in one run and prints one line per setting:
start-up time (iterator creation to first batch) and steady patches/s over the following batches.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run from a source checkout without installing
from anyres_nb.patches import PatchDataset, PatchIndexSampler


def open_images(data, full_set=False):
    "ImageSet over DATA/hr (or DATA); renders the synthetic set into a temp dir when DATA is None, or into DATA when it is missing."
    try:
        from anyres_nb.imagefiles import ImageSet
        from anyres_nb.data import make_synthetic_set
    except ImportError as e:
        sys.exit(f"loader bench: anyres_nb.imagefiles and anyres_nb.data are needed for ImageSet/make_synthetic_set ({e}); "
                 "export the 07_data notebook first (nbdev_export).")
    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix='anyres_bench_')
        data = tmp.name
    data = Path(data)
    if tmp is not None or not data.exists():
        t0 = time.perf_counter()
        make_synthetic_set(data, **({} if full_set else dict(n_lr=0)), progress=False)
        print(f"rendered the {'default synthetic set' if full_set else 'hr/ part of the default synthetic set'} "
              f"in {data}{' (temporary)' if tmp else ''} in {time.perf_counter()-t0:.1f} s")
    folder = data/'hr' if (data/'hr').is_dir() else data
    if not folder.is_dir(): sys.exit(f"loader bench: --data {data} is not a folder (expected DIR/hr or a folder of images)")
    return ImageSet(folder), folder, tmp


def measure(ds, workers, batch, batches, seed=0):
    dl = DataLoader(ds, batch_size=batch, sampler=PatchIndexSampler(ds, seed=seed), num_workers=workers,
                    persistent_workers=False)
    t0 = time.perf_counter()
    it = iter(dl)
    x, T, s = next(it)
    startup = time.perf_counter() - t0
    assert x.shape == (batch, 3, ds.p, ds.p) and x.dtype == torch.uint8 and T.shape == (batch, 3, 3)
    t1 = time.perf_counter()
    for _ in range(batches): next(it)
    dt = time.perf_counter() - t1
    del it
    return startup, batches*batch/dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data', default=None, help='data folder (uses DIR/hr if present); default: make the synthetic set in a temp dir')
    ap.add_argument('--p', type=int, default=32, help='patch size')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--batches', type=int, default=20, help='batches timed after the first one')
    ap.add_argument('--workers', default='0,2', help='comma-separated num_workers values')
    ap.add_argument('--full-set', action='store_true', help='render the full default set (lr/ too) when making data')
    a = ap.parse_args(argv)
    images, folder, tmp = open_images(a.data, a.full_set)
    sizes = getattr(images, 'sizes', None)
    desc = f"{len(images)} images" + (f", sizes {min(min(s) for s in sizes)}..{max(max(s) for s in sizes)} px" if sizes else '')
    print(f"data: {folder} ({desc}); p={a.p}, batch={a.batch}, {a.batches} timed batches; torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs")
    ds = PatchDataset(images, a.p, xflip=True, seed=0)
    for w in [int(v) for v in a.workers.split(',')]:
        startup, rate = measure(ds, w, a.batch, a.batches)
        print(f"num_workers={w}: start-up {startup:.2f} s, {rate:.0f} patches/s")
    if tmp is not None: tmp.cleanup()


if __name__ == '__main__':
    main()
