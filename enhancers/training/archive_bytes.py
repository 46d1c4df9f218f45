"""The bytes of an archive given as a path or as bytes, for the resource-bundle readers (:mod:`.qt_rcc`, :mod:`.eet`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ArchiveReadError


def archive_bytes(source: str | os.PathLike[str] | bytes, kind: str) -> bytes:
    """``source`` itself when it is bytes, else the file's content.

    Raises:
        ArchiveReadError: the file cannot be read; the message names ``kind`` (e.g. ``"Eet file"``).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as err:
        raise ArchiveReadError(f"cannot read {kind} {source}: {err}") from err
