"""Tiled inference as a pure function: feathered overlaps, in-place output, OOM back-off.

Tiles overlap by at least ``overlap`` input pixels. Across each overlap the
tiles are cross-faded with a linear ramp, and the outer ``overlap/3`` pixels of a
tile's inner edges get no weight, so every output pixel comes from tile interiors
(exact for a conv net whose receptive-field radius is ≤ overlap/3). The 2-D weight
is the outer product of per-axis weights that sum to one, so no full-size
normalisation map is needed and the output is accumulated in one buffer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .errors import InvalidInputError

TileFn = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]

MIN_TILE = 32
AUTO_TILE_CAP_BYTES = 256 * 2**20  # activation budget per tile; keeps a 3 MP ×2 run well under 1.5 GiB


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)``, each pair overlapping by ≥ ``overlap``.

    With ``align`` > 1 every start is a multiple of ``align`` (e.g. the 8×8 JPEG block
    grid), provided ``length`` and ``tile`` are multiples of it.
    """
    if tile >= length:
        return [0]
    if overlap + align - 1 >= tile:
        raise InvalidInputError(f"overlap {overlap} must be smaller than the tile {tile}")
    n = math.ceil((length - overlap - align + 1) / (tile - overlap - align + 1))
    n = max(n, 2)
    return [round(i * (length - tile) / (n - 1) / align) * align for i in range(n)]


def fit_tile(length: int, tile: int, overlap: int, align: int = 1) -> int:
    """The smallest tile edge ≤ ``tile`` that covers ``length`` with as many tiles as ``tile`` needs.

    Spreading the same number of tiles evenly otherwise turns the slack into
    extra overlap, which can nearly double the work on mid-sized images.
    """
    if tile >= length or overlap + align - 1 >= tile:
        return min(tile, length)
    n = len(tile_starts(length, tile, overlap, align))
    fitted = math.ceil((length + (n - 1) * (overlap + align - 1)) / n) + 1
    return min(tile, -(-fitted // align) * align)


def axis_weights(length: int, starts: list[int], tile: int, overlap: int, scale: int) -> list[torch.Tensor]:
    """Per-tile 1-D blending weights in output pixels, normalised to sum to one at every position.

    A tile's raw weight is 0 within ``overlap/3`` of an edge it shares with a
    neighbour, rises linearly over the next third, and is 1 elsewhere.
    """
    margin = overlap * scale // 3
    ramp = max(1, overlap * scale - 2 * margin)
    raw = []
    for i, s in enumerate(starts):
        lo, hi = s * scale, min(s + tile, length) * scale
        pos = torch.arange(hi - lo, dtype=torch.float32)
        w = torch.ones(hi - lo)
        if i > 0:
            w = torch.minimum(w, ((pos - margin + 0.5) / ramp).clamp(0, 1))
        if i < len(starts) - 1:
            w = torch.minimum(w, ((hi - lo - 1 - pos - margin + 0.5) / ramp).clamp(0, 1))
        raw.append(w)
    total = torch.zeros(length * scale)
    for s, w in zip(starts, raw):
        total[s * scale:s * scale + w.numel()] += w
    return [w / total[s * scale:s * scale + w.numel()] for s, w in zip(starts, raw)]


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    if multiple <= 1:
        return x
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)


def run_tiled(fn: TileFn, image: torch.Tensor, scale: int, tile: int, overlap: int,
              multiple: int = 1, progress: Progress | None = None,
              out_dtype: torch.dtype = torch.float32, align: int = 1) -> torch.Tensor:
    """Apply ``fn`` to ``image`` tile by tile and stitch the results.

    Tiles are blended in a float32 strip one tile-row high; rows that no later
    tile touches are written to the output as soon as a tile-row is done. With
    ``out_dtype=torch.uint8`` the whole-image buffer is 8-bit, so memory grows by
    3 bytes per output pixel instead of 12.

    Args:
        fn: maps float32 ``(1, C, h, w)`` (CPU) to ``(1, C_out, h·scale, w·scale)`` (any device).
        image: float32 ``(1, C, H, W)`` on CPU.
        scale: output/input size ratio (integer).
        tile: tile edge in input pixels; ≥ H and W means one tile.
        overlap: minimum overlap between neighbouring tiles, in input pixels.
        multiple: pad each tile (by reflection) so its sides are multiples of this.
        progress: called as ``progress(done, total)`` after each tile.
        out_dtype: float32 (values in [0, 1] as ``fn`` gives them) or uint8 (×255, rounded, clipped).
        align: tile starts on multiples of this (8 keeps JPEG blocks where the model expects
            them); the image is padded by replication at the bottom and right to a multiple of it.

    Returns:
        ``(1, C_out, H·scale, W·scale)`` of ``out_dtype`` on CPU.

    Raises:
        InvalidInputError: bad shapes, tile/overlap values or ``out_dtype``.
    """
    if image.ndim != 4 or image.shape[0] != 1:
        raise InvalidInputError(f"expected (1, C, H, W), got {tuple(image.shape)}")
    if tile < 1 or overlap < 0:
        raise InvalidInputError(f"tile must be ≥ 1 and overlap ≥ 0, got tile={tile}, overlap={overlap}")
    if out_dtype not in (torch.float32, torch.uint8):
        raise InvalidInputError(f"out_dtype must be float32 or uint8, got {out_dtype}")
    if align > 1 and (image.shape[-2] % align or image.shape[-1] % align):
        h, w = image.shape[-2:]
        padded = torch.nn.functional.pad(image, (0, (-w) % align, 0, (-h) % align), mode="replicate")
        out = run_tiled(fn, padded, scale, tile, overlap, multiple, progress, out_dtype, align)
        return out[:, :, :h * scale, :w * scale].contiguous()
    _, _, h, w = image.shape
    tile = max(align, tile - tile % align)
    overlap = min(overlap, max(0, tile // 2 - align))
    th, tw = fit_tile(h, tile, overlap, align), fit_tile(w, tile, overlap, align)
    ys, xs = tile_starts(h, th, overlap, align), tile_starts(w, tw, overlap, align)
    wy, wx = axis_weights(h, ys, th, overlap, scale), axis_weights(w, xs, tw, overlap, scale)
    out: torch.Tensor | None = None
    pending: torch.Tensor | None = None  # float32 strip of output rows still open to blending
    pending_y0 = 0
    total, done = len(ys) * len(xs), 0

    def flush(rows: torch.Tensor, y: int) -> None:
        dst = out[:, :, y:y + rows.shape[2]]
        if out_dtype == torch.uint8:
            dst.copy_(rows.clamp(0, 1).mul_(255).round_())
        else:
            dst.copy_(rows)

    for iy, y0 in enumerate(ys):
        y1 = min(y0 + th, h)
        strip: torch.Tensor | None = None
        for ix, x0 in enumerate(xs):
            x1 = min(x0 + tw, w)
            pred = fn(_pad_to_multiple(image[:, :, y0:y1, x0:x1], multiple))
            pred = pred[:, :, : (y1 - y0) * scale, : (x1 - x0) * scale].to("cpu", torch.float32)
            if out is None:
                out = torch.empty((1, pred.shape[1], h * scale, w * scale), dtype=out_dtype)
            if strip is None:
                strip = torch.zeros((1, pred.shape[1], (y1 - y0) * scale, w * scale), dtype=torch.float32)
            weight = wy[iy][:, None] * wx[ix][None, :]
            strip[:, :, :, x0 * scale:x1 * scale].addcmul_(pred, weight)
            done += 1
            if progress is not None:
                progress(done, total)
        assert strip is not None and out is not None
        if pending is not None:
            cut = y0 * scale - pending_y0
            flush(pending[:, :, :cut], pending_y0)
            carried = pending[:, :, cut:]
            strip[:, :, :carried.shape[2]] += carried
        pending, pending_y0 = strip, y0 * scale
    assert pending is not None and out is not None
    flush(pending, pending_y0)
    return out


def auto_tile(free_bytes: int, bytes_per_pixel: int, budget_fraction: float = 0.25,
              cap_bytes: int = AUTO_TILE_CAP_BYTES, multiple: int = 8) -> int:
    """Largest square tile whose activations fit in a fraction of free memory.

    Args:
        free_bytes: memory available (bytes).
        bytes_per_pixel: activation memory per input pixel for the model (bytes).
    """
    budget = min(free_bytes * budget_fraction, cap_bytes)
    side = int(math.sqrt(max(budget, 0) / max(bytes_per_pixel, 1)))
    side -= side % max(multiple, 1)
    return max(MIN_TILE, min(side, 2048))


def is_oom(err: BaseException) -> bool:
    """True for CUDA and CPU allocator out-of-memory errors."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    msg = str(err)
    return isinstance(err, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def run_tiled_with_backoff(fn: TileFn, image: torch.Tensor, scale: int, tile: int, overlap: int,
                           multiple: int = 1, progress: Progress | None = None,
                           out_dtype: torch.dtype = torch.float32, align: int = 1) -> torch.Tensor:
    """:func:`run_tiled`, halving the tile and starting over on out-of-memory.

    Raises:
        MemoryError: still out of memory at the smallest tile size.
    """
    while True:
        try:
            return run_tiled(fn, image, scale, tile, overlap, multiple, progress, out_dtype, align)
        except (RuntimeError, torch.OutOfMemoryError) as e:
            if not is_oom(e):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if tile // 2 < MIN_TILE:
                raise MemoryError(f"out of memory even with {tile}-pixel tiles") from e
            tile //= 2
