"""Embedded fonts: DejaVu Sans and Sans Mono, shipped inside the matplotlib package.

Every glyph a report uses is embedded as a TrueType subset, so any reader shows the same
text and the text stays extractable (A11-09).
"""

from __future__ import annotations

import functools
from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
SANS_ITALIC = "DejaVuSans-Oblique"
MONO = "DejaVuSansMono"

_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    SANS_ITALIC: "DejaVuSans-Oblique.ttf",
    MONO: "DejaVuSansMono.ttf",
}


@functools.cache
def register_fonts() -> None:
    """Register the fonts with reportlab once per process (bold/italic mapped for markup)."""
    folder = resources.files("matplotlib") / "mpl-data" / "fonts" / "ttf"
    for name, filename in _FILES.items():
        with resources.as_file(folder / filename) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    addMapping(SANS, 0, 0, SANS)
    addMapping(SANS, 1, 0, SANS_BOLD)
    addMapping(SANS, 0, 1, SANS_ITALIC)
    addMapping(SANS, 1, 1, SANS_BOLD)
