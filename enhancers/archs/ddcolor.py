"""DDColor (Kang et al. 2023, https://arxiv.org/abs/2212.11613) through ``spandrel_extra_arches``.

spandrel keeps DDColor in its *extra* architectures package because of licensing:
the weights on the Hub are Apache-2.0, but ``spandrel_extra_arches`` states that its
architectures are for private and non-commercial open-source use; check the licenses
before any commercial use. The architecture is detected from the state dict with
that package's registry only (the global spandrel registry is left untouched).

DDColor's own convention: the gray image as RGB (R = G = B) in [0, 1], resized to a
square ``input_size`` (512 in DDColor's inference script), in; a*, b* in Lab units
at that size, out. :class:`DDColorLab` wraps it into this project's colorization
contract, the same as :class:`enhancers.archs.color_unet.ColorUNet`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnsafeWeightsError
from ..lab import AB_SCALE, L_SCALE, gray_to_rgb
from . import BuiltModel


class DDColorLab(nn.Module):
    """A DDColor network behind the course's parametrisation.

    ``forward``: gray float ``(1, 1, h, w)`` in [0, 1] → L*a*b* scaled to [−1, 1],
    float ``(1, 3, h, w)``. DDColor sees the gray image resized (bilinear) to
    ``input_size × input_size``; its a*b* are resized back (bilinear). L* is the gray
    image's own (kornia's sRGB → L*a*b*).
    """

    def __init__(self, net: nn.Module, input_size: int = 512) -> None:
        super().__init__()
        self.net = net
        self.input_size = input_size

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        import kornia.color as kc

        h, w = gray.shape[-2:]
        rgb = gray_to_rgb(gray)
        x = F.interpolate(rgb, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        ab = self.net(x.clamp(0, 1))
        ab = F.interpolate(ab.float(), size=(h, w), mode="bilinear", align_corners=False)
        lightness = kc.rgb_to_lab(rgb.float())[:, :1]
        return torch.cat([lightness / L_SCALE - 1.0, (ab / AB_SCALE).clamp(-1, 1)], dim=1).to(gray.dtype)


def build(state_dict: dict[str, torch.Tensor] | None, input_size: int = 512) -> BuiltModel:
    """Detect DDColor in ``state_dict`` with ``spandrel_extra_arches`` and wrap it.

    Raises:
        UnsafeWeightsError: no weights, or the weights are not a 2-channel DDColor.
    """
    import spandrel
    import spandrel_extra_arches

    if state_dict is None:
        raise UnsafeWeightsError("DDColor needs a state dict")
    loader = spandrel.ModelLoader(registry=spandrel_extra_arches.EXTRA_REGISTRY)
    try:
        desc = loader.load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError as e:
        raise UnsafeWeightsError(f"spandrel_extra_arches does not recognise these weights ({e})") from e
    if desc.architecture.id != "DDColor" or getattr(desc.model, "num_output_channels", None) != 2:
        raise UnsafeWeightsError(f"expected a DDColor model with 2 output channels (a*, b*), "
                                 f"got {desc.architecture.id}")
    desc.model.eval()
    return BuiltModel(DDColorLab(desc.model, input_size).eval(), supports_half=desc.supports_half,
                      supports_bfloat16=desc.supports_bfloat16)
