#!/usr/bin/env python3
"""Regenerate diagram.png (400x200) using only the standard library.

Draws three boxes labelled MD, TEX and PDF joined by arrows.
Run from anywhere: python3 make_diagram.py
"""
import os
import struct
import zlib

W, H = 400, 200
BG = (250, 248, 240)
INK = (40, 40, 60)
FILLS = [(190, 220, 250), (250, 225, 170), (200, 235, 195)]

# 5x7 bitmap glyphs for the few letters we need.
FONT = {
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
}

px = [[BG for _ in range(W)] for _ in range(H)]


def rect(x0, y0, x1, y1, color):
    for y in range(max(0, y0), min(H, y1)):
        row = px[y]
        for x in range(max(0, x0), min(W, x1)):
            row[x] = color


def box(x0, y0, x1, y1, fill, border=3):
    rect(x0, y0, x1, y1, INK)
    rect(x0 + border, y0 + border, x1 - border, y1 - border, fill)


def text(s, cx, cy, scale=4):
    width = len(s) * 6 * scale - scale
    x = cx - width // 2
    y = cy - 7 * scale // 2
    for ch in s:
        for r, bits in enumerate(FONT[ch]):
            for c, b in enumerate(bits):
                if b == "1":
                    rect(x + c * scale, y + r * scale,
                         x + (c + 1) * scale, y + (r + 1) * scale, INK)
        x += 6 * scale


def arrow(x0, x1, y):
    rect(x0, y - 2, x1 - 10, y + 2, INK)
    for i in range(12):  # triangular head
        rect(x1 - 12 + i, y - (12 - i) // 2 - 1, x1 - 11 + i, y + (12 - i) // 2 + 1, INK)


boxes = [(20, 60, 120, 140), (150, 60, 250, 140), (280, 60, 380, 140)]
for (x0, y0, x1, y1), fill, label in zip(boxes, FILLS, ["MD", "TEX", "PDF"]):
    box(x0, y0, x1, y1, fill)
    text(label, (x0 + x1) // 2, (y0 + y1) // 2)
arrow(122, 148, 100)
arrow(252, 278, 100)
rect(20, 170, 380, 172, (180, 180, 190))  # a thin baseline for decoration


def chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in px)
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 9))
       + chunk(b"IEND", b""))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diagram.png")
with open(out, "wb") as fh:
    fh.write(png)
print("wrote", out, len(png), "bytes")
