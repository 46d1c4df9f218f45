"""The Qt binary resource (.rcc) reader, against bundles written here the way Qt's rcc tool lays them out."""

from __future__ import annotations

import struct
import zlib

import pytest

from enhancers.errors import ArchiveReadError
from enhancers.training.qt_rcc import FLAG_DIRECTORY, FLAG_ZLIB, FLAG_ZSTD, list_rcc, read_rcc


def qt_hash(name: str) -> int:
    """Qt's qt_hash of a resource name (the order rcc sorts a directory's children in)."""
    h = 0
    for ch in name:
        h = ((h << 4) + ord(ch)) & 0xFFFFFFFF
        g = h & 0xF0000000
        h ^= g >> 23
        h &= ~g & 0xFFFFFFFF
    return h


def write_rcc(files: dict[str, tuple[bytes, str]], version: int = 3) -> bytes:
    """A bundle holding ``{path: (contents, "none" | "zlib" | "zstd")}``: header, data, names, then the tree,
    directories' children consecutive and sorted by name hash, breadth first from the root (node 0)."""
    root: dict = {}
    for path, entry in files.items():
        *dirs, leaf = path.split("/")
        node = root
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = entry
    data, names, name_at = bytearray(), bytearray(), {}

    def name_offset(name: str) -> int:
        if name not in name_at:
            name_at[name] = len(names)
            names.extend(struct.pack(">HI", len(name), qt_hash(name)) + name.encode("utf-16-be"))
        return name_at[name]

    nodes: list[bytes] = [b""]  # filled in breadth first
    queue = [(0, "", root)]
    while queue:
        index, name, node = queue.pop(0)
        if isinstance(node, dict):
            children = sorted(node.items(), key=lambda kv: qt_hash(kv[0]))
            first = len(nodes)
            nodes.extend(b"" for _ in children)
            for k, (child_name, child) in enumerate(children):
                queue.append((first + k, child_name, child))
            rec = struct.pack(">IHII", name_offset(name) if index else 0, FLAG_DIRECTORY, len(children), first)
        else:
            contents, how = node
            payload = {"none": contents, "zlib": struct.pack(">I", len(contents)) + zlib.compress(contents),
                       "zstd": contents}[how]
            flags = {"none": 0, "zlib": FLAG_ZLIB, "zstd": FLAG_ZSTD}[how]
            rec = struct.pack(">IHHHI", name_offset(name), flags, 0, 1, len(data))
            data.extend(struct.pack(">I", len(payload)) + payload)
        if version >= 2:
            rec += struct.pack(">Q", 1_700_000_000_000)
        nodes[index] = rec
    header_size = 24 if version >= 3 else 20
    data_off = header_size
    names_off = data_off + len(data)
    tree_off = names_off + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + bytes(data) + bytes(names) + b"".join(nodes)


PHOTO = bytes(range(256)) * 40
FILES = {
    "gcompris/src/activities/erase/resource/alpaca.webp": (PHOTO, "zlib"),
    "gcompris/src/activities/erase/resource/README": (b"License: CC0-1.0\nFiles: alpaca.webp\n", "none"),
    "gcompris/src/activities/erase/Erase.qml": (b"import QtQuick 2.12\n", "zlib"),
    "top.txt": (b"", "none"),
    "d\u00e9j\u00e0/\u00e9t\u00e9.png": (b"\x89PNG", "none"),
}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_reads_nested_directories_zlib_and_stored_entries(version):
    got = read_rcc(write_rcc(FILES, version))
    assert got == {path: contents for path, (contents, _) in FILES.items()}


def test_lists_without_decompressing_and_reports_storage(tmp_path):
    path = tmp_path / "erase.rcc"
    path.write_bytes(write_rcc(FILES))
    entries = {e.path: e for e in list_rcc(path)}
    assert set(entries) == set(FILES)
    assert entries["gcompris/src/activities/erase/resource/alpaca.webp"].compression == "zlib"
    assert entries["gcompris/src/activities/erase/resource/alpaca.webp"].stored_size < len(PHOTO)
    assert entries["top.txt"].compression == "none" and entries["top.txt"].stored_size == 0
    assert read_rcc(path) == read_rcc(path.read_bytes())


def test_bad_magic():
    with pytest.raises(ArchiveReadError, match="magic"):
        read_rcc(b"qrez" + write_rcc(FILES)[4:])
    with pytest.raises(ArchiveReadError, match="magic"):
        read_rcc(b"")


def test_unsupported_version():
    buf = bytearray(write_rcc(FILES))
    buf[4:8] = struct.pack(">I", 4)
    with pytest.raises(ArchiveReadError, match="version 4"):
        read_rcc(bytes(buf))


def test_every_truncation_is_an_archive_error():
    buf = write_rcc(FILES, version=2)
    for cut in range(len(buf) - 1, 0, -7):
        with pytest.raises(ArchiveReadError):
            read_rcc(buf[:cut])


def test_data_offset_outside_the_file():
    buf = bytearray(write_rcc({"a.bin": (b"abc", "none")}, version=1))
    tree = struct.unpack_from(">I", buf, 8)[0]
    file_node = tree + 14  # node 1, the only child of the root
    struct.pack_into(">I", buf, file_node + 10, 1 << 30)
    with pytest.raises(ArchiveReadError, match="truncated|outside"):
        read_rcc(bytes(buf))


def test_data_length_past_the_end():
    buf = bytearray(write_rcc({"a.bin": (b"abc", "none")}, version=1))
    data_off = struct.unpack_from(">I", buf, 12)[0]
    struct.pack_into(">I", buf, data_off, 10_000)
    with pytest.raises(ArchiveReadError, match="past the end"):
        read_rcc(bytes(buf))


def test_directory_cycle_is_refused():
    buf = bytearray(write_rcc({"a/b.bin": (b"x", "none")}, version=2))
    tree = struct.unpack_from(">I", buf, 8)[0]
    struct.pack_into(">I", buf, tree + 22 + 10, 0)  # node 1 (directory a) claims node 0, the root, as its child
    with pytest.raises(ArchiveReadError, match="cycle"):
        read_rcc(bytes(buf))


def test_corrupt_zlib_entry():
    buf = bytearray(write_rcc({"a.bin": (b"hello world" * 10, "zlib")}))
    data_off = struct.unpack_from(">I", buf, 12)[0]
    buf[data_off + 10:data_off + 14] = b"\xff\xff\xff\xff"
    with pytest.raises(ArchiveReadError, match="zlib"):
        read_rcc(bytes(buf))


def test_zlib_size_prefix_must_match():
    buf = bytearray(write_rcc({"a.bin": (b"hello", "zlib")}))
    data_off = struct.unpack_from(">I", buf, 12)[0]
    struct.pack_into(">I", buf, data_off + 4, 99)
    with pytest.raises(ArchiveReadError, match="prefix says 99"):
        read_rcc(bytes(buf))


def test_zstd_entries_are_listed_but_not_decoded():
    buf = write_rcc({"a.bin": (b"\x28\xb5\x2f\xfd", "zstd"), "b.txt": (b"ok", "none")})
    assert {e.path: e.compression for e in list_rcc(buf)} == {"a.bin": "zstd", "b.txt": "none"}
    with pytest.raises(ArchiveReadError, match="zstd"):
        read_rcc(buf)


def test_missing_file():
    with pytest.raises(ArchiveReadError, match="cannot read"):
        read_rcc("/nonexistent/bundle.rcc")
