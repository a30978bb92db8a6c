"""Users' folders hold thumbnails, slivers, empty and broken files: both stages train past them, naming each one;
`--strict` refuses, naming the first offender. (Issue 15.)"""
import os, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from cli_helpers import console_cmd

ENV = dict(os.environ, OMP_NUM_THREADS='1')
BAD = {'tiny.png': '4x4', 'sliver.png': '16x512', 'empty.jpg': 'empty', 'truncated.jpg': 'truncated', 'notes.png': 'text'}


def run(tmp, *args):
    "`anyres_train ARGS` through the console script (`cli_helpers.console_cmd`)."
    return subprocess.run(console_cmd(tmp, 'anyres_train') + [*map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=600)


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    "The synthetic set's lr/ and hr/, with a 4x4 image, a 512x16 sliver, a zero-byte file, a truncated JPEG and a text file named .png in both."
    from anyres_nb.data import make_synthetic_set
    d = tmp_path_factory.mktemp('mixed')
    make_synthetic_set(d, n_lr=8, n_hr=4, base=32, max_factor=3, workers=1, progress=False)
    rng = np.random.default_rng(0)
    for sub in ('lr', 'hr'):
        f = d/sub
        Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(f/'tiny.png')
        Image.fromarray(rng.integers(0, 256, (16, 512, 3), dtype=np.uint8)).save(f/'sliver.png')
        (f/'empty.jpg').write_bytes(b'')
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(f/'full.jpg', quality=90)
        b = (f/'full.jpg').read_bytes(); (f/'full.jpg').unlink(); (f/'truncated.jpg').write_bytes(b[:len(b)//2])
        (f/'notes.png').write_text('these are my holiday notes, not an image\n')
    return d


def test_both_stages_train_past_the_bad_images(mixed, tmp_path):
    r1 = run(tmp_path, '--stage', 'global', '--data', mixed/'lr', '--outdir', tmp_path/'s1', '--kimg', '0.016', '--quiet')
    assert r1.returncode == 0, r1.stderr[-3000:]
    for name in ('empty.jpg', 'truncated.jpg', 'notes.png'): assert name in r1.stderr, (name, r1.stderr[-3000:])
    r2 = run(tmp_path, '--stage', 'patch', '--data', mixed/'lr', '--data_hr', mixed/'hr', '--teacher', tmp_path/'s1',
             '--outdir', tmp_path/'s2', '--kimg', '0.016', '--quiet')
    assert r2.returncode == 0, r2.stderr[-3000:]
    err = r2.stderr
    for name in BAD: assert name in err, (name, err[-3000:])          # every skip is reported by name
    assert 'skipped 2 of 6 images' in err, err[-3000:]                # the two too small for a patch, with a count
    assert list((tmp_path/'s2').glob('ckpt-*.pt')), 'stage 2 wrote no checkpoint'
    assert 'Traceback' not in err


def test_strict_refuses_naming_the_first_offender(mixed, tmp_path):
    r = run(tmp_path, '--stage', 'global', '--data', mixed/'lr', '--outdir', tmp_path/'s1', '--kimg', '0.016', '--quiet', '--strict')
    assert r.returncode == 2, r.stderr[-3000:]
    assert 'empty.jpg' in r.stderr and 'Traceback' not in r.stderr      # files are checked in name order
    # stage 2 with a clean low-res set: the high-res thumbnail is refused by name
    clean = tmp_path/'lr'; shutil.copytree(mixed/'lr', clean)
    for n in BAD: (clean/n).unlink()
    hr = tmp_path/'hr'; shutil.copytree(mixed/'hr', hr)
    for n in ('empty.jpg', 'truncated.jpg', 'notes.png'): (hr/n).unlink()
    assert run(tmp_path, '--stage', 'global', '--data', clean, '--outdir', tmp_path/'ok1', '--kimg', '0.016', '--quiet').returncode == 0
    r = run(tmp_path, '--stage', 'patch', '--data', clean, '--data_hr', hr, '--teacher', tmp_path/'ok1', '--outdir', tmp_path/'s2',
            '--kimg', '0.016', '--quiet', '--strict')
    assert r.returncode == 2, r.stderr[-3000:]
    assert 'sliver.png' in r.stderr and '--strict' in r.stderr and 'Traceback' not in r.stderr


def test_too_few_usable_images_stop_the_run_saying_why(mixed, tmp_path):
    r1 = run(tmp_path, '--stage', 'global', '--data', mixed/'lr', '--outdir', tmp_path/'s1', '--kimg', '0.016', '--quiet')
    assert r1.returncode == 0, r1.stderr[-3000:]
    r = run(tmp_path, '--stage', 'patch', '--data', mixed/'lr', '--data_hr', mixed/'hr', '--teacher', tmp_path/'s1',
            '--outdir', tmp_path/'s2', '--kimg', '0.016', '--quiet', '--min_images', '5')
    assert r.returncode == 2, r.stderr[-3000:]
    assert '4 usable images (need 5)' in r.stderr and '2 skipped' in r.stderr and '3 unreadable files skipped' in r.stderr, r.stderr[-2000:]


def test_panorama_training_skips_strips_of_another_shape(tmp_path):
    "A folder of full-turn strips with a square photo, a narrow strip and a text file: `--stage pano` trains on the strips."
    strips = tmp_path/'strips'
    r = subprocess.run(console_cmd(tmp_path, 'anyres_make_data', 'data') + [str(strips), '--panorama', '5', '--quiet'],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(strips/'photo.png')
    Image.fromarray(rng.integers(0, 256, (32, 100, 3), dtype=np.uint8)).save(strips/'narrow.png')
    (strips/'readme.png').write_text('not an image')
    r = run(tmp_path, '--stage', 'pano', '--data', strips, '--outdir', tmp_path/'pano', '--kimg', '0.008', '--batch', '4', '--quiet', '--min_images', '4')
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ('photo.png', 'narrow.png', 'readme.png'): assert name in r.stderr, (name, r.stderr[-3000:])
    assert 'skipped 2 of 7 images' in r.stderr and 'frames of 90 degrees' in r.stdout
    r = run(tmp_path, '--stage', 'pano', '--data', strips, '--outdir', tmp_path/'pano2', '--kimg', '0.008', '--batch', '4', '--quiet', '--strict')
    assert r.returncode == 2 and 'readme.png' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
