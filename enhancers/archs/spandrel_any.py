"""Any architecture spandrel can detect from its state dict (Compact, ESRGAN, SwinIR, ...)."""

from __future__ import annotations

import torch

from ..errors import UnsafeWeightsError
from . import BuiltModel


def build(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """Detect the architecture from ``state_dict`` with spandrel and build it.

    Raises:
        UnsafeWeightsError: no weights given, or spandrel does not recognise them.
    """
    import spandrel

    if state_dict is None:
        raise UnsafeWeightsError("spandrel models need a state dict")
    try:
        desc = spandrel.ModelLoader().load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError as e:
        raise UnsafeWeightsError(f"spandrel does not recognise this architecture ({e})") from e
    if not isinstance(desc, spandrel.ImageModelDescriptor):
        raise UnsafeWeightsError(f"expected an image-to-image model, got {type(desc).__name__}")
    desc.model.eval()
    return BuiltModel(desc.model, supports_half=desc.supports_half, supports_bfloat16=desc.supports_bfloat16)
