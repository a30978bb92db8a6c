"The experiment's bootstrap of SWD (experiments/arms.py): its point values are the library's, and its blocked sum is exact."
import sys
from pathlib import Path
import numpy as np, torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'experiments'))
import arms                                                    # noqa: E402
from anyres_nb.metrics import sliced_wasserstein             # noqa: E402


def _sets(n=16, size=32, blur=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n, 3, size, size, generator=g) * 255).round().to(torch.uint8)
    b = (torch.rand(n, 3, size, size, generator=g) * 255)
    if blur: b = torch.nn.functional.avg_pool2d(b, 3, 1, 1)              # a set unlike the first: few sign changes
    return a, b.round().to(torch.uint8)


def test_blocked_sum_equals_direct_sum():
    for blur in (True, False):                                          # unlike sets and alike ones (many sign changes)
        a, b = _sets(blur=blur)
        N, B = len(a), 40
        W = torch.cat([torch.as_tensor(arms.boot_counts(N, B, (1, 0))), -torch.as_tensor(arms.boot_counts(N, B, (1, 1)))], 1).float()
        levels, _, reps = arms.swd_bootstrap(a, b, W[:, :N].numpy(), -W[:, N:].numpy(), normalize='joint', drop_coarsest=False)
        # the same replicates, one weighting at a time through the direct sum (fewer than 16 rows take that path)
        direct = np.concatenate([arms.swd_bootstrap(a, b, W[i:i + 8, :N].numpy(), -W[i:i + 8, N:].numpy(), normalize='joint',
                                                    drop_coarsest=False)[2] for i in range(0, B, 8)])
        np.testing.assert_allclose(reps, direct, rtol=1e-5)
        assert reps.std() > 0                                           # the resamples differ


def test_point_values_are_the_librarys():
    a, b = _sets(size=48)
    c = arms.boot_counts(len(a), 16, (2, 0))
    for nm in ('each', 'joint'):
        levels, mean, reps = arms.swd_bootstrap(a, b, c, c, normalize=nm)
        np.testing.assert_allclose(levels, sliced_wasserstein(a, b, normalize=nm), rtol=1e-4)
        assert len(reps) == 16 and np.isclose(mean, np.mean(levels[:-1]))
