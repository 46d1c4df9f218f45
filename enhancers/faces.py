"""Faces: find them, align each to the FFHQ 512×512 layout, restore it with a face model, paste it back.

Pipeline (as GFPGAN's and CodeFormer's own face helpers work, facexlib):

1. **Detect** with MTCNN (Zhang et al. 2016, :mod:`enhancers.archs.mtcnn`, weights bundled in ``weights/``): a box,
   a confidence and five landmarks per face. Large photos are searched at a long side of at most
   :data:`DETECT_MAX_SIDE` px.
2. **Align**: the similarity transform (rotation, uniform scale, translation; least squares over
   the five landmarks, scikit-image) that puts the landmarks on the FFHQ 512 template, and a
   bilinear warp of the photo into a 512×512 crop (reflected at the photo's borders).
3. **Restore** the crop with a registered ``face/...`` model (GFPGAN, RestoreFormer, CodeFormer).
4. **Paste back**: the restored crop is warped back with the inverse transform and blended with
   a mask that is the crop square eroded by :data:`MASK_MARGIN` and feathered by a raised-cosine
   ramp :data:`MASK_FEATHER` wide (a blur with compact support: exactly 0 outside, exactly 1
   inside, no step), so no box or seam shows. Pixels outside the mask are not changed at all.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import imageio
from .device import compute_slot
from .errors import InvalidInputError, ModelUnavailableError
from .loader import is_ready, load_model
from .registry import get_spec, list_specs, task_spec
from .specs import HubWeights
from .tiling import Progress

TASK = "face"
DETECTOR = "facedetect/mtcnn"
DEFAULT_MODEL = "face/gfpgan-v1.4"
CROP_SIZE = 512
# The five landmarks (left eye, right eye, nose, mouth left, mouth right; (x, y) px) of the FFHQ
# 512×512 alignment that GFPGAN, RestoreFormer and CodeFormer were trained on (facexlib's template).
FFHQ_TEMPLATE_512 = ((192.98, 239.95), (318.90, 240.19), (256.63, 314.02), (201.26, 371.41), (313.09, 371.15))
MIN_CONFIDENCE = 0.9
MIN_EYE_DISTANCE = 10.0  # px
DETECT_MAX_SIDE = 1600  # px: larger photos are searched downscaled (the smallest face found grows with it)
MASK_MARGIN = 16  # crop px (of 512) eroded from the crop's edge before feathering
MASK_FEATHER = 48  # crop px (of 512): width of the raised-cosine ramp from 0 to 1
_ANTIALIAS_BELOW = 0.5  # a warp that shrinks by more than 2× first resizes its source to twice the target


@dataclass(frozen=True, eq=False)  # eq=False: ndarray fields make == ambiguous
class Face:
    """One detected face, in the photo's pixel coordinates.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in px.
        landmarks: float64 ``(5, 2)``, ``(x, y)`` in px: left eye, right eye, nose, mouth left,
            mouth right ("left" = smaller x in the image). Read-only.
        confidence: MTCNN's O-Net face probability in [0, 1].
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    confidence: float

    @property
    def eye_distance(self) -> float:
        """Distance between the two eye landmarks, px."""
        return float(np.hypot(*(self.landmarks[1] - self.landmarks[0])))

    @property
    def area(self) -> float:
        """Box area, px²."""
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass(frozen=True)
class FaceResult:
    """A photo with its faces restored.

    Attributes:
        image: RGB float32 ``(1, 3, H, W)`` in [0, 1], the input's size.
        faces: the faces that were restored, largest first.
    """

    image: torch.Tensor
    faces: tuple[Face, ...]


def model_ids() -> list[str]:
    """Registered face restoration models, in registry order."""
    return [s.id for s in list_specs(TASK)]


def takes_fidelity(model_id: str) -> bool:
    """True for restorers with a fidelity weight w (CodeFormer)."""
    return "fidelity" in get_spec(model_id).controls


def detect_faces(rgb: torch.Tensor, min_confidence: float = MIN_CONFIDENCE,
                 min_eye_distance: float = MIN_EYE_DISTANCE) -> list[Face]:
    """Find faces with MTCNN (``facedetect/mtcnn``; Zhang et al. 2016, https://arxiv.org/abs/1604.02878).

    Photos longer than :data:`DETECT_MAX_SIDE` px are searched downscaled (antialiased); boxes
    and landmarks are returned in the photo's own pixels.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        min_confidence: faces below this O-Net probability (in [0, 1]) are dropped.
        min_eye_distance: faces whose eyes are closer than this (px, in the photo) are dropped:
            too small to restore.

    Returns:
        The faces, largest box first.

    Raises:
        InvalidInputError: ``rgb`` breaks the contract, or a threshold is out of range.
        ModelUnavailableError: the bundled detector weights (``weights/mtcnn.safetensors``) are missing.
    """
    imageio.check_image_tensor(rgb)
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidInputError(f"min_confidence must be in [0, 1], got {min_confidence}")
    if min_eye_distance < 0:
        raise InvalidInputError(f"min_eye_distance must be ≥ 0 px, got {min_eye_distance}")
    h, w = rgb.shape[-2:]
    f = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = rgb
    if f < 1.0:
        small = F.interpolate(rgb, size=(max(1, round(h * f)), max(1, round(w * f))), mode="bilinear",
                              antialias=True, align_corners=False)
    fy, fx = small.shape[-2] / h, small.shape[-1] / w
    detector = load_model(DETECTOR)
    with torch.inference_mode(), compute_slot():
        boxes, points = detector.module(small.to(detector.device))
    # Pixel centres: x_photo = (x_small + 0.5) / f − 0.5.
    scale = np.array([fx, fy, fx, fy], dtype=np.float64)
    boxes_px = (boxes[:, :4].double().numpy() + 0.5) / scale - 0.5
    points_px = (points.double().numpy() + 0.5) / scale[:2] - 0.5
    found = []
    for box, pts, conf in zip(boxes_px, points_px, boxes[:, 4].tolist(), strict=True):
        pts.flags.writeable = False
        face = Face(tuple(float(v) for v in box), pts, float(conf))
        if face.confidence >= min_confidence and face.eye_distance >= min_eye_distance:
            found.append(face)
    return sorted(found, key=lambda fc: fc.area, reverse=True)


def alignment_matrix(face: Face, size: int = CROP_SIZE) -> np.ndarray:
    """The similarity transform from photo pixels to crop pixels that puts ``face``'s landmarks on
    the FFHQ template (scaled to ``size``), least squares (Umeyama 1991, scikit-image).

    Returns:
        float64 ``(2, 3)``: ``[x_crop, y_crop] = A @ [x, y, 1]``.

    Raises:
        InvalidInputError: the landmarks are degenerate (e.g. all in one point).
    """
    from skimage.transform import SimilarityTransform

    template = np.asarray(FFHQ_TEMPLATE_512, dtype=np.float64) * (size / 512)
    tform = SimilarityTransform.from_estimate(np.asarray(face.landmarks, dtype=np.float64), template)
    if not tform:
        raise InvalidInputError(f"cannot align a face with landmarks {np.asarray(face.landmarks).tolist()}")
    return tform.params[:2].copy()


def align_face(rgb: torch.Tensor, face: Face, size: int = CROP_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut out ``face`` aligned to the FFHQ layout (eyes, nose and mouth on the template).

    Bilinear warp (kornia); outside the photo the photo is reflected. When the crop is more than
    2× smaller than the face in the photo, the photo region is first resized (antialiased bicubic)
    to twice the crop's resolution, so the crop does not alias.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        face: from :func:`detect_faces`.
        size: crop edge, px (512 for every registered restorer).

    Returns:
        ``(crop, affine)``: RGB float32 ``(1, 3, size, size)`` in [0, 1], and float64 ``(2, 3)``
        mapping photo pixels to crop pixels (``[x_crop, y_crop] = affine @ [x, y, 1]``).

    Raises:
        InvalidInputError: bad tensor, ``size`` < 16, or degenerate landmarks.
    """
    imageio.check_image_tensor(rgb)
    if size < 16:
        raise InvalidInputError(f"crop size must be at least 16 px, got {size}")
    affine = alignment_matrix(face, size)
    h, w = rgb.shape[-2:]
    # Only the part of the photo the crop sees (its corners mapped back), clipped to the photo.
    x0, y0, x1, y1 = _bounds(np.linalg.inv(_to3(affine)), size, size, pad=2)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x0 >= x1 or y0 >= y1:
        raise InvalidInputError(f"face at {face.box} lies outside the {w}×{h} image")
    src = rgb[..., y0:y1, x0:x1]
    to_crop = _to3(affine) @ _translate(x0, y0)
    if _scale(affine) < _ANTIALIAS_BELOW:
        src, from_small = _shrink(src, _scale(affine))
        to_crop = to_crop @ from_small
    crop = _warp(src, to_crop, (size, size), padding="reflection")
    return crop.clamp_(0, 1), torch.from_numpy(affine)


def face_mask(affine: torch.Tensor | np.ndarray, height: int, width: int, size: int = CROP_SIZE) -> torch.Tensor:
    """Where and how strongly :func:`paste_back` replaces the photo: the crop's feathered mask in photo pixels.

    Args:
        affine: float ``(2, 3)`` photo → crop pixels, from :func:`align_face`.
        height, width: the photo's size, px.
        size: crop edge, px.

    Returns:
        float32 ``(1, 1, height, width)`` in [0, 1]: 0 where the photo is kept exactly.
    """
    mask = torch.zeros(1, 1, height, width)
    placed = _place(_crop_mask(size)[None, None], _matrix(affine), height, width)
    if placed is not None:
        (y0, y1, x0, x1), warped = placed
        mask[..., y0:y1, x0:x1] = warped
    return mask


def paste_back(rgb: torch.Tensor, restored_crop: torch.Tensor, affine: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Put a restored face crop back into the photo.

    The crop is warped with the inverse of ``affine`` (bilinear; when the face is more than 2×
    smaller in the photo than in the crop, the crop is first resized, antialiased bicubic, to
    twice the face's resolution in the photo, so fine restored texture does not alias)
    and blended as ``mask · restored + (1 − mask) · photo`` with :func:`face_mask`: eroded and
    feathered, so there is no box or seam, and pixels outside the mask are left exactly as they were.

    Args:
        rgb: the photo, RGB float32 ``(1, 3, H, W)`` in [0, 1]; not modified.
        restored_crop: RGB float ``(1, 3, s, s)`` in [0, 1].
        affine: float ``(2, 3)`` photo → crop pixels, from :func:`align_face` (for an ``s``-px crop).

    Returns:
        A new RGB float32 ``(1, 3, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: bad tensors or matrix.
    """
    imageio.check_image_tensor(rgb)
    out = rgb.clone()
    _paste_into(out, restored_crop, affine)
    return out


def restore_faces(rgb: torch.Tensor, model_id: str = DEFAULT_MODEL, *, only_largest: bool = False,
                  fidelity: float | None = None, progress: Progress | None = None) -> FaceResult:
    """Detect, align, restore and paste back every face (or only the largest).

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        model_id: a registered ``face/...`` restorer.
        only_largest: restore only the face with the largest box.
        fidelity: CodeFormer's fidelity weight w in [0, 1] (0: the codebook's idealised face,
            1: closest to the input); None: the model's default (0.5). Restorers without it ignore it.
        progress: ``progress(done, total)`` after each face.

    Returns:
        The photo with its faces restored (a copy when no face is found; the model is then not
        loaded) and the faces.

    Raises:
        UnknownModelError, InvalidInputError (bad tensor, not a face model, fidelity out of range),
        ModelUnavailableError (weights not downloadable: the message names the repository and the
        download size in MB; the detector's bundled weights missing), UnsafeWeightsError.
    """
    imageio.check_image_tensor(rgb)
    spec = task_spec(model_id, TASK, "a face restoration model")
    if fidelity is not None and not 0.0 <= fidelity <= 1.0:
        raise InvalidInputError(f"fidelity w must be in [0, 1], got {fidelity}")
    found = detect_faces(rgb)
    if only_largest:
        found = found[:1]
    out = rgb.clone()
    if not found:
        return FaceResult(out, ())
    restorer = _load_restorer(model_id)
    for i, face in enumerate(found):
        crop, affine = align_face(rgb, face)  # from the input: a neighbour's pasted face never leaks in
        with torch.inference_mode(), compute_slot():
            restored = restorer.module(crop.to(restorer.device),
                                       fidelity=fidelity if "fidelity" in spec.controls else None)
        _paste_into(out, restored.float().to(out.device), affine)
        if progress is not None:
            progress(i + 1, len(found))
    return FaceResult(out, tuple(found))


def _load_restorer(model_id: str):
    spec = get_spec(model_id)
    try:
        return load_model(model_id)
    except ModelUnavailableError as e:
        if isinstance(spec.source, HubWeights) and not is_ready(spec):
            raise ModelUnavailableError(f"{e} The model is a one-time download of {spec.source.size_mb:.0f} MB.") from e
        raise


# --- geometry ---------------------------------------------------------------------------------------------------


def _paste_into(out: torch.Tensor, restored_crop: torch.Tensor, affine: torch.Tensor | np.ndarray) -> None:
    """:func:`paste_back` in place, touching only the region the crop covers."""
    shape = tuple(restored_crop.shape)
    if len(shape) != 4 or shape[:2] != (1, 3) or shape[2] != shape[3]:
        raise InvalidInputError(f"restored crop: expected shape (1, 3, s, s), got {shape}")
    mask = _crop_mask(shape[-1])[None, None].to(restored_crop.device)
    placed = _place(torch.cat([restored_crop.detach().float(), mask], 1), _matrix(affine), *out.shape[-2:])
    if placed is None:
        return
    (y0, y1, x0, x1), warped = placed
    warped = warped.to(out.device)
    mask = warped[:, 3:]  # in [0, 1], like the crop: the blend stays in [0, 1]
    region = out[..., y0:y1, x0:x1]
    region.copy_(warped[:, :3] * mask + region * (1 - mask))


@functools.lru_cache(maxsize=4)
def _crop_mask(size: int) -> torch.Tensor:
    """float32 ``(size, size)``: the crop square eroded by ``MASK_MARGIN`` and feathered over ``MASK_FEATHER``
    (both scaled from 512), a separable raised-cosine ramp. Cached: do not modify."""
    margin, feather = MASK_MARGIN * size / 512, MASK_FEATHER * size / 512
    t = torch.arange(size, dtype=torch.float64)
    edge = torch.minimum(t, size - 1 - t)  # distance to the nearer border, crop px
    ramp = ((edge - margin) / feather).clamp(0, 1)
    profile = 0.5 - 0.5 * torch.cos(math.pi * ramp)
    return (profile[:, None] * profile[None, :]).float()


def _place(crop: torch.Tensor, affine: np.ndarray, height: int, width: int
           ) -> tuple[tuple[int, int, int, int], torch.Tensor] | None:
    """Warp ``crop`` (1, C, s, s) into photo pixels with the inverse of ``affine``, over the photo region it
    covers; zeros outside the crop. Returns ``((y0, y1, x0, x1), warped (1, C, y1 − y0, x1 − x0))`` or None
    when the crop lands outside the photo."""
    size = crop.shape[-1]
    to_photo = np.linalg.inv(_to3(affine))
    x0, y0, x1, y1 = _bounds(to_photo, size, size, pad=1)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x0 >= x1 or y0 >= y1:
        return None
    to_region = _translate(-x0, -y0) @ to_photo
    scale = 1.0 / _scale(affine)  # photo px per crop px
    if scale < _ANTIALIAS_BELOW:
        crop, from_small = _shrink(crop, scale)
        to_region = to_region @ from_small
    return (y0, y1, x0, x1), _warp(crop, to_region, (y1 - y0, x1 - x0), padding="zeros").clamp_(0, 1)


def _warp(src: torch.Tensor, matrix: np.ndarray, dsize: tuple[int, int], padding: str) -> torch.Tensor:
    """Bilinear warp with ``matrix`` (3×3 or 2×3, source → destination pixels, pixel centres at integers)."""
    from kornia.geometry.transform import warp_affine

    m = torch.as_tensor(np.asarray(matrix)[:2], dtype=torch.float32, device=src.device)[None]
    return warp_affine(src.float(), m, dsize, mode="bilinear", padding_mode=padding, align_corners=True)


def _shrink(src: torch.Tensor, factor: float) -> tuple[torch.Tensor, np.ndarray]:
    """Prepare ``src`` for a warp that shrinks it by ``factor`` < 0.5: resize it by ``2 · factor`` (antialiased
    bicubic), leaving the warp's bilinear filter a 2:1 step whose 2×2 footprint sees every pixel (less blur than
    resizing all the way). Returns the small image and the 3×3 matrix from its pixels to ``src``'s pixels."""
    h, w = src.shape[-2:]
    sh, sw = max(2, round(h * 2 * factor)), max(2, round(w * 2 * factor))
    small = F.interpolate(src.float(), size=(sh, sw), mode="bicubic", antialias=True, align_corners=False)
    ry, rx = h / sh, w / sw
    return small, np.array([[rx, 0, (rx - 1) / 2], [0, ry, (ry - 1) / 2], [0, 0, 1]], dtype=np.float64)


def _bounds(matrix: np.ndarray, height: int, width: int, pad: int) -> tuple[int, int, int, int]:
    """Integer box ``(x0, y0, x1, y1)``, end-exclusive, around the ``height × width`` rectangle mapped by ``matrix``."""
    corners = np.array([[-0.5, -0.5, 1], [width - 0.5, -0.5, 1], [-0.5, height - 0.5, 1],
                        [width - 0.5, height - 0.5, 1]]).T
    xy = (np.asarray(matrix)[:2] @ corners).T
    (xa, ya), (xb, yb) = xy.min(0), xy.max(0)
    return math.floor(xa) - pad, math.floor(ya) - pad, math.ceil(xb) + pad + 1, math.ceil(yb) + pad + 1


def _matrix(affine: torch.Tensor | np.ndarray) -> np.ndarray:
    m = affine.detach().cpu().double().numpy() if isinstance(affine, torch.Tensor) else np.asarray(affine, float)
    if m.shape != (2, 3) or not np.isfinite(m).all() or abs(np.linalg.det(m[:, :2])) < 1e-12:
        raise InvalidInputError(f"affine: expected a finite, invertible (2, 3) matrix, got shape {m.shape}")
    return m


def _scale(affine: np.ndarray) -> float:
    """Crop px per photo px of a similarity transform."""
    return math.sqrt(abs(np.linalg.det(np.asarray(affine)[:2, :2])))


def _to3(m: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(m)[:2], [0.0, 0.0, 1.0]])


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1.0]])
