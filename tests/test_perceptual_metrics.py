"""LPIPS and NIQE (enhancers.metrics / enhancers.perceptual) and the numpy-only unpickler behind LPIPS' backbones."""

from __future__ import annotations

import math
import pickle
import shutil
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

from enhancers import imageio, metrics, perceptual
from enhancers.degrade import apply_kernel, isotropic_gaussian_kernel
from enhancers.errors import InvalidInputError, ModelUnavailableError, UnsafeWeightsError
from enhancers.metrics import lpips, lpips_model, niqe
from enhancers.pretrained import read_numpy_pickle
from enhancers.training.data import SKIMAGE_EVAL, prepare_hr, skimage_dir


def blur(rgb: torch.Tensor, sigma: float) -> torch.Tensor:
    return apply_kernel(rgb, isotropic_gaussian_kernel(2 * math.ceil(3 * sigma) + 1, sigma)).clamp(0, 1)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """scikit-image's astronaut (held out), 256×256 as the evaluation protocol prepares it."""
    assert "astronaut.png" in SKIMAGE_EVAL
    return prepare_hr(skimage_dir() / "astronaut.png", crop=256, multiple=8)


@pytest.fixture(scope="module")
def photo_full() -> torch.Tensor:
    """The astronaut at its original 512×512: 25 NIQE blocks."""
    return imageio.open_image(skimage_dir() / "astronaut.png").rgb


# ---------------------------------------------------------------------------------------------------- LPIPS

@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_zero_for_identical_positive_and_symmetric_otherwise(photo: torch.Tensor, net: str) -> None:
    other = blur(photo, 2)
    assert lpips(photo, photo.clone(), net) == 0.0
    d = lpips(photo, other, net)
    assert d > 0.05
    assert lpips(other, photo, net) == pytest.approx(d, abs=1e-5)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_ranks_gaussian_blur(photo: torch.Tensor, net: str) -> None:
    d1, d2, d4 = (lpips(photo, blur(photo, s), net) for s in (1, 2, 4))
    assert 0 < d1 < d2 < d4


def test_lpips_model_is_batched_and_differentiable(photo: torch.Tensor) -> None:
    model = lpips_model("alex")
    a = torch.cat([photo, blur(photo, 1)])
    b = torch.cat([blur(photo, 1), blur(photo, 4)])
    a.requires_grad_(True)
    d = model(a, b)
    assert d.shape == (2,) and d.dtype == torch.float32
    # Same inputs already on the 8-bit grid: the float API agrees image by image.
    q = [imageio.numpy_to_tensor(imageio.to_uint8_hwc(t)) for t in (a[:1].detach(), b[:1])]
    assert float(model(*q)[0]) == pytest.approx(lpips(q[0], q[1]), abs=1e-5)
    d.sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())


def test_lpips_rejects_bad_input(photo: torch.Tensor) -> None:
    with pytest.raises(InvalidInputError, match="unknown LPIPS network 'squeeze'"):
        lpips(photo, photo, "squeeze")
    with pytest.raises(InvalidInputError, match="differ in shape"):
        lpips(photo, photo[..., :128], "alex")
    tiny = photo[..., :16, :16]
    with pytest.raises(InvalidInputError, match="32"):
        lpips(tiny, tiny, "alex")


def test_lpips_missing_heads_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perceptual, "LPIPS_PACKAGE", "enhancers_no_such_package")
    with pytest.raises(ModelUnavailableError, match=r"pip install lpips==0\.1\.4"):
        lpips_model("alex")


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_equals_the_lpips_package_given_the_same_backbone(photo: torch.Tensor, net: str) -> None:
    """The reference implementation (``lpips.LPIPS``, random trunk, then our ImageNet convolutions copied in)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's deprecated ``pretrained=`` inside lpips
        import lpips as reference_package

        reference = reference_package.LPIPS(net=net, pnet_rand=True, verbose=False)
    ours = perceptual._cached_model(net)  # the model lpips() uses, loaded once for this file
    trunk = [m for k in range(1, 6) for m in getattr(reference.net, f"slice{k}")]
    for theirs, mine in zip(trunk, ours.features, strict=True):
        theirs.load_state_dict(mine.state_dict())
    a = photo[..., 100:164, 60:140]
    b = imageio.numpy_to_tensor(imageio.to_uint8_hwc(blur(a, 1.5)))  # on the 8-bit grid, as lpips() quantises
    with torch.no_grad():
        expected = float(reference(a, b, normalize=True))
    assert lpips(a, b, net) == pytest.approx(expected, rel=1e-4)
    assert perceptual.lpips_heads_path(net).parts[-4:] == ("lpips", "weights", "v0.1", f"{net}.pth")


# ----------------------------------------------------------------------------------- restricted unpickler

class _CallsPrint:
    def __reduce__(self):
        return print, ("this must never run",)


def test_numpy_pickle_reader_accepts_arrays_and_refuses_any_other_class(tmp_path, capsys) -> None:
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps({"Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}}))
    assert np.array_equal(read_numpy_pickle(good)["Conv_0"]["kernel"], np.arange(6).reshape(2, 3))

    for name, payload in [("fraction", {"w": np.zeros(3), "x": Fraction(1, 3)}), ("code", {"w": _CallsPrint()})]:
        bad = tmp_path / f"{name}.ckpt"
        bad.write_bytes(pickle.dumps(payload))
        with pytest.raises(UnsafeWeightsError, match="only numpy arrays"):
            read_numpy_pickle(bad)
    assert "must never run" not in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------- NIQE

def test_niqe_matches_the_reference_implementation() -> None:
    # BasicSR's calculate_niqe (whose baboon.png score, 5.7296, equals LIVE's MATLAB release) gives 2.62554 for
    # chelsea; this implementation gives 5.72957 on baboon.png.
    assert "chelsea.png" in SKIMAGE_EVAL
    assert niqe(imageio.open_image(skimage_dir() / "chelsea.png").rgb) == pytest.approx(2.62554, abs=1e-3)


def test_niqe_ranks_gaussian_blur(photo_full: torch.Tensor) -> None:
    scores = [niqe(photo_full)] + [niqe(blur(photo_full, s)) for s in (1, 2, 4)]
    assert scores == sorted(scores) and len(set(scores)) == 4, scores
    assert scores[0] < 4  # a sharp photo is close to the pristine model


def test_niqe_uses_the_bundled_model_or_the_env_override(photo_full, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(metrics.NIQE_PARAMS_ENV, raising=False)
    assert metrics.niqe_params_path() == metrics.WEIGHTS_DIR / "niqe_pris_params.npz"
    reference = niqe(photo_full)

    copy = tmp_path / "pristine.npz"
    shutil.copy(metrics.niqe_params_path(), copy)
    monkeypatch.setenv(metrics.NIQE_PARAMS_ENV, str(copy))
    monkeypatch.setattr(metrics, "_niqe_model", {})
    assert niqe(photo_full) == reference

    monkeypatch.setenv(metrics.NIQE_PARAMS_ENV, str(tmp_path / "missing.npz"))
    monkeypatch.setattr(metrics, "_niqe_model", {})
    with pytest.raises(ModelUnavailableError, match=f"{metrics.NIQE_PARAMS_ENV}=.*missing.npz is not a file"):
        niqe(photo_full)


def test_niqe_rejects_images_smaller_than_a_block(photo: torch.Tensor) -> None:
    with pytest.raises(InvalidInputError, match="96×96"):
        niqe(photo[..., :64, :])
