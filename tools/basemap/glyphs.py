"""Build MapLibre SDF glyph ranges (PBF) from an open TrueType font.

Run at build time only (it needs freetype-py, numpy and scipy, which the server does not):

    python tools/basemap/glyphs.py /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "DejaVu Sans" OUTDIR

Writes OUTDIR/<fontstack>/<start>-<end>.pbf for the ranges that hold Latin, Cyrillic, Arabic and
the Arabic presentation forms (MapLibre's RTL plugin shapes Arabic into those code points). The
format is the one node-fontnik writes: 24 px em, a 3 px buffer, signed distance with an 8 px radius
and a 0.25 cut-off (value 192 on the outline).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import freetype  # type: ignore[import-not-found]
import numpy as np
from scipy import ndimage  # type: ignore[import-untyped]

SIZE = 24
BUFFER = 3
RADIUS = 8.0
CUTOFF = 0.25
SCALE = 4  # render this many times larger, then sample distances at the 24 px grid

RANGES = [0, 256, 1024, 1280, 1536, 1792, 7680, 8192, 64256, 64512, 64768, 65024]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field_varint(num: int, value: int) -> bytes:
    return _varint(num << 3) + _varint(value)


def _field_bytes(num: int, value: bytes) -> bytes:
    return _varint((num << 3) | 2) + _varint(len(value)) + value


def _glyph(face: freetype.Face, big: freetype.Face, code: int, ascender: int) -> bytes | None:
    if face.get_char_index(code) == 0:
        return None
    face.load_char(code, freetype.FT_LOAD_NO_HINTING)
    advance = round(face.glyph.advance.x / 64)
    big.load_char(code, freetype.FT_LOAD_RENDER | freetype.FT_LOAD_NO_HINTING)
    bm = big.glyph.bitmap
    w96, h96 = bm.width, bm.rows
    body = _field_varint(1, code)
    if w96 == 0 or h96 == 0:
        body += _field_varint(3, 0) + _field_varint(4, 0) + _field_varint(5, 0)
        body += _field_varint(6, _zigzag(0 - ascender)) + _field_varint(7, advance)
        return body
    l96, t96 = big.glyph.bitmap_left, big.glyph.bitmap_top
    ink = np.array(bm.buffer, dtype=np.uint8).reshape(h96, bm.pitch)[:, :w96] > 127
    left = math.floor(l96 / SCALE)
    right = math.ceil((l96 + w96) / SCALE)
    top = math.ceil(t96 / SCALE)
    bottom = math.floor((t96 - h96) / SCALE)
    width, height = right - left, top - bottom
    pad = (BUFFER + int(RADIUS) + 2) * SCALE
    # The big canvas: the 24 px box plus the buffer and radius, in big pixels; y down from `top`.
    cw = (width + 2 * BUFFER) * SCALE + 2 * pad
    ch = (height + 2 * BUFFER) * SCALE + 2 * pad
    canvas = np.zeros((ch, cw), dtype=bool)
    ox = (l96 - (left - BUFFER) * SCALE) + pad
    oy = ((top + BUFFER) * SCALE - t96) + pad
    canvas[oy : oy + h96, ox : ox + w96] = ink
    outside = ndimage.distance_transform_edt(~canvas)
    inside = ndimage.distance_transform_edt(canvas)
    signed = (outside - inside) / SCALE  # in 24 px pixels, positive outside
    bw, bh = width + 2 * BUFFER, height + 2 * BUFFER
    ys = (np.arange(bh) * SCALE + SCALE // 2 + pad)[:, None]
    xs = (np.arange(bw) * SCALE + SCALE // 2 + pad)[None, :]
    d = signed[ys, xs]
    values = np.clip(np.round(255 - 255 * (d / RADIUS + CUTOFF)), 0, 255).astype(np.uint8)
    body += _field_bytes(2, values.tobytes())
    body += _field_varint(3, width) + _field_varint(4, height)
    body += _field_varint(5, _zigzag(left)) + _field_varint(6, _zigzag(top - ascender))
    body += _field_varint(7, advance)
    return body


def build(font: Path, name: str, out: Path) -> None:
    face = freetype.Face(str(font))
    face.set_pixel_sizes(0, SIZE)
    big = freetype.Face(str(font))
    big.set_pixel_sizes(0, SIZE * SCALE)
    ascender = round(face.size.ascender / 64)
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    for start in RANGES:
        end = start + 255
        stack = _field_bytes(1, name.encode()) + _field_bytes(2, f"{start}-{end}".encode())
        for code in range(start, end + 1):
            g = _glyph(face, big, code, ascender)
            if g is not None:
                stack += _field_bytes(3, g)
        (target / f"{start}-{end}.pbf").write_bytes(_field_bytes(1, stack))


if __name__ == "__main__":
    build(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
