"""Text as the SII's documents carry it: ISO-8859-1.

A DTE and its timbre are ISO-8859-1, and the timbre's barcode is its bytes: a character
outside it (typographic quotes or dashes pasted from a word processor, a euro sign, an
emoji) cannot be printed in the barcode, and as an XML character reference it is not
what the SII reads. Each becomes one character it can carry: a plain equivalent, the
letter without its accent, or "?". One for one, so the SII's length limits, applied
before or after, cut the same text.
"""

import unicodedata

_PLAIN = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
        "…": ".", "•": "-", "€": "E", "\u2009": " ", "\u202f": " ", "\u200b": " ",
    }
)  # fmt: skip


def _latin_1(character: str) -> str:
    if ord(character) < 256:
        return character
    base = unicodedata.normalize("NFKD", character)[:1]
    return base if base and ord(base) < 128 else "?"


def sii_text(text: str) -> str:
    """`text` with every character ISO-8859-1 cannot hold replaced by one it can."""
    if text.isascii():
        return text
    return "".join(map(_latin_1, text.translate(_PLAIN)))
