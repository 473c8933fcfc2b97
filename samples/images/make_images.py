#!/usr/bin/env python3
"""Regenerate the image samples used by 2024-05-18-every-image-case.md.

- chart.svg: a small bar chart written by hand (md2tex converts it with rsvg-convert);
- chart.pdf: the same chart as PDF (rsvg-convert -f pdf);
- photo.jpg: the chart rendered to JPEG (pdftoppm -jpeg, from poppler-utils);
- spinner.gif: a two-frame animated GIF, encoded here with the standard library only
  (md2tex keeps the first frame: a blue square; the second frame is red).

Run from anywhere: python3 make_images.py
"""
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">
  <rect width="320" height="180" fill="#fbf8f0"/>
  <line x1="30" y1="150" x2="300" y2="150" stroke="#333" stroke-width="2"/>
  <line x1="30" y1="20" x2="30" y2="150" stroke="#333" stroke-width="2"/>
  <rect x="50" y="90" width="40" height="60" fill="#4a78b5"/>
  <rect x="110" y="50" width="40" height="100" fill="#e0a030"/>
  <rect x="170" y="70" width="40" height="80" fill="#5aa55a"/>
  <rect x="230" y="30" width="40" height="120" fill="#b5484a"/>
  <text x="160" y="172" font-family="sans-serif" font-size="12" text-anchor="middle"
        fill="#333">posts per year</text>
</svg>
"""


def gif(frames, width, height, palette):
    """An uncompressed-LZW GIF: clear codes keep the code size at 9 bits."""
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", width, height, 0xF7, 0, 0)  # 256-colour global table
    pal = bytearray()
    for rgb in palette:
        pal += bytes(rgb)
    out += pal + bytes(768 - len(pal))
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for pixels in frames:
        out += b"\x21\xf9\x04\x04\x32\x00\x00\x00"  # 0.5 s per frame
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        codes = [256]
        for i, p in enumerate(pixels):
            if i and i % 250 == 0:
                codes.append(256)
            codes.append(p)
        codes.append(257)
        acc = nbits = 0
        data = bytearray()
        for code in codes:
            acc |= code << nbits
            nbits += 9
            while nbits >= 8:
                data.append(acc & 0xFF)
                acc >>= 8
                nbits -= 8
        if nbits:
            data.append(acc & 0xFF)
        out.append(8)
        for i in range(0, len(data), 255):
            chunk = data[i : i + 255]
            out += bytes([len(chunk)]) + chunk
        out.append(0)
    out.append(0x3B)
    return bytes(out)


def main():
    svg = os.path.join(HERE, "chart.svg")
    with open(svg, "w", encoding="utf-8") as fh:
        fh.write(SVG)
    pdf = os.path.join(HERE, "chart.pdf")
    subprocess.run(["rsvg-convert", "-f", "pdf", "-o", pdf, svg], check=True)
    subprocess.run(["pdftoppm", "-jpeg", "-r", "72", "-singlefile", pdf,
                    os.path.join(HERE, "photo")], check=True)
    w, h = 120, 80
    blue = [1 if 20 <= x < 100 and 10 <= y < 70 else 0 for y in range(h) for x in range(w)]
    red = [2 if 20 <= x < 100 and 10 <= y < 70 else 0 for y in range(h) for x in range(w)]
    with open(os.path.join(HERE, "spinner.gif"), "wb") as fh:
        fh.write(gif([blue, red], w, h, [(255, 255, 255), (40, 90, 200), (210, 40, 40)]))


if __name__ == "__main__":
    main()
