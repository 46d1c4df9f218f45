"""The Eet (.edj) reader, against files written here in EFL's layout."""

from __future__ import annotations

import struct
import zlib

import pytest

from enhancers.errors import ArchiveReadError
from enhancers.training.eet import LEGACY_MAGIC, MAGIC, iter_eet, list_eet, read_entry

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200)) * 5 + b"\xff\xd9"


def write_eet(entries: list[tuple[str, bytes, str]], dictionary: int = 0) -> bytes:
    """An Eet file of ``(name, contents, "none" | "zlib" | "lz4")`` entries: header, directory, dictionary
    (``dictionary`` zeroed records), names, then data."""
    names = b"".join(n.encode() + b"\0" for n, _, _ in entries)
    stored = [zlib.compress(c) if how == "zlib" else c for _, c, how in entries]
    name_at = 12 + 24 * len(entries) + 20 * dictionary
    data_at = name_at + len(names)
    directory = bytearray()
    for (name, contents, how), blob in zip(entries, stored, strict=True):
        flags = {"none": 0, "zlib": 1 | (9 << 3), "lz4": 1 | (10 << 3)}[how]
        directory += struct.pack(">6I", data_at, len(blob), len(contents), name_at, len(name) + 1, flags)
        data_at += len(blob)
        name_at += len(name) + 1
    return (struct.pack(">III", MAGIC, len(entries), dictionary) + bytes(directory) + bytes(20 * dictionary)
            + names + b"".join(stored))


ENTRIES = [("edje/images/0", JPEG, "none"), ("edje/file", b"collections" * 50, "zlib"),
           ("edje_sources", b"src", "lz4")]


def test_lists_and_reads_stored_and_zlib_entries(tmp_path):
    buf = write_eet(ENTRIES, dictionary=3)
    entries = list_eet(buf)
    assert [(e.name, e.compression, e.data_size) for e in entries] == [
        ("edje/images/0", "none", len(JPEG)), ("edje/file", "zlib", 550), ("edje_sources", "lz4", 3)]
    assert buf[entries[0].offset:entries[0].offset + entries[0].size] == JPEG
    path = tmp_path / "Mountain.edj"
    path.write_bytes(buf)
    assert read_entry(path, "edje/images/0") == JPEG
    assert read_entry(buf, "edje/file") == b"collections" * 50
    assert dict(iter_eet(buf, {"edje/images/0", "edje/file"})) == {"edje/images/0": JPEG,
                                                                   "edje/file": b"collections" * 50}


def test_lz4_entry_is_listed_but_not_decoded():
    with pytest.raises(ArchiveReadError, match="LZ4"):
        read_entry(write_eet(ENTRIES), "edje_sources")
    with pytest.raises(ArchiveReadError, match="LZ4"):
        list(iter_eet(write_eet(ENTRIES)))


def test_bad_and_legacy_magic():
    buf = write_eet(ENTRIES)
    with pytest.raises(ArchiveReadError, match="not an Eet file"):
        list_eet(b"\0\0\0\0" + buf[4:])
    with pytest.raises(ArchiveReadError, match="legacy"):
        list_eet(struct.pack(">I", LEGACY_MAGIC) + buf[4:])


def test_truncated_header_and_directory():
    buf = write_eet(ENTRIES)
    with pytest.raises(ArchiveReadError, match="truncated"):
        list_eet(buf[:8])
    with pytest.raises(ArchiveReadError, match="truncated"):
        list_eet(buf[:12 + 24])


def test_every_truncation_is_an_archive_error():
    buf = write_eet(ENTRIES)
    for cut in range(len(buf) - 1, 0, -13):
        with pytest.raises(ArchiveReadError):
            list_eet(buf[:cut])


def test_data_outside_the_file():
    buf = bytearray(write_eet(ENTRIES))
    struct.pack_into(">I", buf, 12, len(buf) + 10)  # entry 0's data offset
    with pytest.raises(ArchiveReadError, match="outside"):
        list_eet(bytes(buf))


def test_name_must_end_in_nul():
    buf = bytearray(write_eet(ENTRIES))
    name_at, name_size = struct.unpack_from(">II", buf, 12 + 12)
    buf[name_at + name_size - 1] = ord("x")
    with pytest.raises(ArchiveReadError, match="NUL"):
        list_eet(bytes(buf))


def test_corrupt_zlib_and_missing_entry():
    buf = bytearray(write_eet(ENTRIES))
    e = list_eet(bytes(buf))[1]
    buf[e.offset + 2:e.offset + 6] = b"\0\0\0\0"
    with pytest.raises(ArchiveReadError, match="zlib"):
        read_entry(bytes(buf), "edje/file")
    with pytest.raises(ArchiveReadError, match="no entry"):
        read_entry(write_eet(ENTRIES), "edje/images/9")
