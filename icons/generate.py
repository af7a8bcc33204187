"""Draws TokenBuddy's icons (a rounded square with a white "T") as PNGs,
with the standard library only, so no image tool is needed to rebuild them."""

import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).parent
TOP = (0x3B, 0x82, 0xF6)
BOTTOM = (0x7C, 0x3A, 0xED)


def pixel(x: float, y: float) -> tuple:
    """RGBA at (x, y) in the unit square."""
    r = 0.22  # corner radius
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return (0, 0, 0, 0)
    in_bar = 0.24 <= x <= 0.76 and 0.24 <= y <= 0.38
    in_stem = 0.42 <= x <= 0.58 and 0.24 <= y <= 0.78
    if in_bar or in_stem:
        return (255, 255, 255, 255)
    color = tuple(round(a + (b - a) * y) for a, b in zip(TOP, BOTTOM))
    return color + (255,)


def png(size: int) -> bytes:
    rows = b""
    for j in range(size):
        row = b"\x00"
        for i in range(size):
            row += bytes(pixel((i + 0.5) / size, (j + 0.5) / size))
        rows += row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
        (HERE / name).write_bytes(png(size))
