"""Barcode images for tests, drawn here: an EAN-13 renderer (the GS1 bar patterns, no
library), and a Y4M video file (raw I420 frames) that Chromium's fake camera plays
(``--use-file-for-fake-video-capture``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw

_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_R = tuple("".join("1" if b == "0" else "0" for b in code) for code in _L)
_G = tuple(code[::-1] for code in _R)
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLG", "LGLGLG", "LGLGGL", "LGGLGL")


def ean13_modules(code: str) -> str:
    """The 95 modules (1 = bar) of an EAN-13 code given as 13 digits."""
    assert len(code) == 13 and code.isdigit()
    digits = [int(c) for c in code]
    left = "".join((_L if p == "L" else _G)[d] for p, d in zip(_PARITY[digits[0]], digits[1:7], strict=True))
    right = "".join(_R[d] for d in digits[7:])
    return "101" + left + "01010" + right + "101"


def ean13_image(code: str, *, size: tuple[int, int] = (640, 480), module: int = 4) -> PIL.Image.Image:
    """A white frame with the code's bars centred (quiet zones included), grayscale."""
    modules = ean13_modules(code)
    width, height = size
    img = PIL.Image.new("L", size, 255)
    draw = PIL.ImageDraw.Draw(img)
    x0 = (width - len(modules) * module) // 2
    top, bottom = height // 4, height * 3 // 4
    for i, bit in enumerate(modules):
        if bit == "1":
            draw.rectangle([x0 + i * module, top, x0 + (i + 1) * module - 1, bottom], fill=0)
    return img


def write_y4m(img: PIL.Image.Image, path: Path, *, frames: int = 10, fps: int = 10) -> Path:
    """``img`` as a Y4M (4:2:0) video of ``frames`` identical frames."""
    gray = np.asarray(img.convert("L"), dtype=np.uint8)
    h, w = gray.shape
    assert h % 2 == 0 and w % 2 == 0
    chroma = np.full((h // 2) * (w // 2), 128, dtype=np.uint8).tobytes()
    frame = b"FRAME\n" + gray.tobytes() + chroma + chroma
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            f.write(frame)
    return path
