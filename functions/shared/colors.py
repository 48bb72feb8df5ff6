"""The store's accent colour, made readable wherever it is used (WCAG 2 contrast of at least 4.5:1).

A store may pick any ``#rrggbb`` accent. As text or stars on white it is darkened until it reads
(``ink``); as a button it keeps its colour with white or near-black text, whichever reads, and is
darkened only when neither does (``button``). Templates use them as filters: ``{{ accent | ink }}``.
"""

from __future__ import annotations

from functools import lru_cache

READABLE = 4.5
WHITE = "#ffffff"
DARK = "#111111"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _darker(color: str, step: float) -> str:
    return "#" + "".join(f"{round(int(color[i : i + 2], 16) * step):02x}" for i in (1, 3, 5))


@lru_cache(maxsize=64)
def ink(color: str) -> str:
    """``color`` as text on white: itself when it reads, else the first shade of it that does."""
    shade = color.lower()
    while contrast(shade, WHITE) < READABLE:
        shade = _darker(shade, 0.9)
    return shade


@lru_cache(maxsize=64)
def button(color: str) -> str:
    """CSS for a button filled with ``color``: ``background:...;color:...`` that reads."""
    text = WHITE if contrast(color, WHITE) >= contrast(color, DARK) else DARK
    if contrast(color, text) >= READABLE:
        return f"background:{color};background-color:{color};color:{text};"
    filled = ink(color)
    return f"background:{filled};background-color:{filled};color:{WHITE};"
