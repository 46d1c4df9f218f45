"""A disk that fills up mid-write: a clear error, a non-zero exit code (CLI) or a ``gr.Error`` (app), no partial file.

The full disk is simulated: the file object that ``save_png`` writes its temp file through accepts a few hundred
bytes and then fails with ``ENOSPC``, as a real full file system does, so a partial temp file exists until it is
cleaned up.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file

from enhancers import cli, imageio
from enhancers.errors import OutputWriteError

ACCEPTED_BYTES = 300


class _FullDiskFile(io.RawIOBase):
    """A writable file that takes ``ACCEPTED_BYTES`` bytes and then raises ``OSError(ENOSPC)``."""

    def __init__(self, real) -> None:
        self.real, self.written = real, 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        room = ACCEPTED_BYTES - self.written
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        chunk = bytes(b)[:room]
        self.real.write(chunk)
        self.real.flush()
        self.written += len(chunk)
        return len(chunk)

    def close(self) -> None:
        self.real.close()
        super().close()


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it, and from then on every result temp file (``*.png.part``) is on a disk that fills up after
    ``ACCEPTED_BYTES`` bytes."""
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".png.part"):
            return _FullDiskFile(f)
        return f

    return lambda: monkeypatch.setattr(os, "fdopen", fdopen)


def _photo(tmp_path: Path) -> Path:
    g = torch.Generator().manual_seed(0)
    return imageio.save_png(tmp_path / "photo.png", torch.rand(1, 3, 40, 48, generator=g))


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_save_png_raises_typed_error_and_leaves_nothing(tmp_path: Path, fill_disk: Callable[[], None]) -> None:
    fill_disk()
    dest = tmp_path / "out" / "result.png"
    with pytest.raises(OutputWriteError, match="no space left on the device") as info:
        imageio.save_png(dest, torch.rand(1, 3, 64, 64))

    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert _files(tmp_path / "out") == []


def test_cli_reports_one_line_and_exits_non_zero(tmp_path: Path, fill_disk: Callable[[], None],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    photo = _photo(tmp_path / "in")
    out_dir = tmp_path / "out"
    fill_disk()

    code = cli.main(["sr", str(photo), "--output-dir", str(out_dir), "--model", "sr/lanczos", "--scale", "2"])

    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # the rest is the tile bar
    assert code == 1
    assert len(errors) == 1 and "photo.png: no space left on the device" in errors[0], err
    assert "Traceback" not in err
    assert _files(out_dir) == []


def test_app_gives_gr_error_and_leaves_no_partial_file(app_url: str, tmp_path: Path,
                                                        fill_disk: Callable[[], None]) -> None:
    import app

    photo = _photo(tmp_path)
    client = Client(app_url, verbose=False)
    before = set(_files(app.OUTPUT_DIR))
    fill_disk()

    with pytest.raises(Exception, match="no space left on the device") as info:
        client.predict(handle_file(str(photo)), "sr/lanczos", 2, 0, "model default", "auto", api_name="/sr")

    assert "AppError" in type(info.value).__name__  # a gr.Error the user sees, not a crash
    new = set(_files(app.OUTPUT_DIR)) - before
    assert new == set(), new
