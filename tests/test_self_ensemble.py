"""Geometric self-ensemble: the transforms, their inverses, and the averaged model."""

import torch
import torch.nn.functional as F

from enhancers.self_ensemble import DIHEDRAL, dihedral, self_ensemble, undo_dihedral


def test_eight_distinct_symmetries_each_undone():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    seen = set()
    for k in DIHEDRAL:
        y = dihedral(x, k)
        assert y.shape[-2:] in ((3, 4), (4, 3))
        torch.testing.assert_close(undo_dihedral(y, k), x, rtol=0, atol=0)
        seen.add(tuple(y.flatten().tolist()) + tuple(y.shape))
    assert len(seen) == 8


def test_equivariant_function_is_unchanged():
    x = torch.rand(1, 3, 5, 7)

    def up(t):
        return F.interpolate(t, scale_factor=2, mode="nearest")

    torch.testing.assert_close(self_ensemble(up, x), up(x))


def test_mean_of_the_eight_passes_for_an_asymmetric_filter():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 6, 9)
    kernel = torch.rand(1, 1, 3, 3)

    def conv(t):
        return F.conv2d(t, kernel, padding=1)

    expected = sum(undo_dihedral(conv(dihedral(x, k)), k) for k in DIHEDRAL) / 8
    # An isotropic filter: the kernel averaged over the symmetries of the square.
    iso = sum(dihedral(kernel, k) for k in DIHEDRAL) / 8
    got = self_ensemble(conv, x)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got, F.conv2d(x, iso, padding=1))
    assert (got - conv(x)).abs().max() > 1e-3
