"""Font glyphs as identities: the offline stand-in for faces.

No face images with identities ship inside a package installable here, but
Matplotlib ships 40 TrueType fonts. Each character is an *identity* and each
font that draws it gives one *photograph* of it: DejaVu Sans, Serif and Mono,
STIX and Computer Modern, each in regular, bold and italic where it has them,
16 to 21 fonts per character. Every photograph is then taken in a few random
poses (rotation, scale, shear and shift), so two images of one identity differ
in style and pose the way two photographs of one person do, and an embedding
must learn what stays the same. It is Omniglot's setting (Lake et al.,
"Human-level concept learning through probabilistic program induction",
Science 2015: many characters, few drawings each) built from files that are
already installed.

The characters are Latin letters and digits, the Greek and Cyrillic letters
that do not look like a Latin one, and a few symbols; a character whose DejaVu
Sans glyph is (nearly) the same picture as an earlier one's is dropped, so no
two identities are the same shape under two names.
"""

import functools
import os

import numpy as np

from dlkit.errors import ConfigError, DatasetError

#: Candidate identities, in id order (homoglyphs of earlier ones are dropped at load).
CHARACTERS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz"
    "0123456789"
    "ΓΔΘΛΞΠΣΦΨΩαβγδεζηθκλμξπρστφχψω"
    "БДЖЗИЙЛУЦЧШЩЪЫЬЭЮЯбвгджзийклмнптфцчшщъыьэюя"
    "&@#$%?!+=<>"
)

#: Bundled fonts that are not text faces (symbol, size-variant and fallback fonts).
_NOT_TEXT_FONTS = ("LastResort", "STIXSiz", "STIXNonUni", "cmex", "cmsy", "cmmi", "Display")

#: Computer Modern's TeX (OT1) encoding puts other glyphs at some ASCII codes ("<" is an inverted "!"),
#: so those fonts draw only letters and digits here.
_OT1_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

#: The glyph is drawn at this size (pixels per em) on a canvas this many pixels wide, then resized.
_EM, _CANVAS = 22, 32


def bundled_fonts():
    """Paths of Matplotlib's bundled text fonts (``mpl-data/fonts/ttf``), sorted by file name."""
    import matplotlib

    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    names = sorted(name for name in os.listdir(folder) if name.endswith(".ttf"))
    return [os.path.join(folder, name) for name in names if not any(part in name for part in _NOT_TEXT_FONTS)]


def render_glyph(font_path, character, *, em=_EM, canvas=_CANVAS):
    """Draws one character, antialiased, centred on a square canvas.

    Args:
        font_path: a TrueType font file.
        character: one character.
        em: font size in pixels per em.
        canvas: side of the square canvas in pixels (a larger glyph is cropped about its centre).

    Returns:
        ``uint8 (canvas, canvas)`` ink in ``[0, 255]``, or ``None`` when the font has no glyph for it.
    """
    from matplotlib.ft2font import FT2Font

    if os.path.basename(font_path).startswith("cm") and character not in _OT1_SAFE:
        return None
    font = FT2Font(font_path)
    if font.get_char_index(ord(character)) == 0:
        return None
    font.set_size(em, 72)
    font.set_text(character, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    ink = np.asarray(font.get_image())
    if ink.size == 0 or ink.max() == 0:
        return None
    top, left = max(0, (ink.shape[0] - canvas) // 2), max(0, (ink.shape[1] - canvas) // 2)
    ink = ink[top : top + canvas, left : left + canvas]
    out = np.zeros((canvas, canvas), np.uint8)
    top, left = (canvas - ink.shape[0]) // 2, (canvas - ink.shape[1]) // 2
    out[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return out


def distinct_characters(characters=CHARACTERS, *, similarity=0.95):
    """The characters left when each near-copy of an earlier one is dropped.

    Two characters are near-copies when their DejaVu Sans glyphs, centred on
    the canvas, have a cosine similarity above ``similarity`` (Latin "A",
    Greek "Α" and Cyrillic "А" are one picture).
    """
    reference = next((path for path in bundled_fonts() if os.path.basename(path) == "DejaVuSans.ttf"), None)
    if reference is None:
        return list(characters)
    kept, vectors = [], []
    for character in characters:
        glyph = render_glyph(reference, character)
        if glyph is None:
            continue
        vector = glyph.reshape(-1).astype(np.float64)
        vector /= np.linalg.norm(vector)
        if vectors and float(np.max(np.stack(vectors) @ vector)) > similarity:
            continue
        kept.append(character)
        vectors.append(vector)
    return kept


@functools.lru_cache(maxsize=2)
def _glyph_sheet(characters):
    images, labels = [], []
    fonts = bundled_fonts()
    for identity, character in enumerate(characters):
        for font in fonts:
            glyph = render_glyph(font, character)
            if glyph is not None:
                images.append(glyph)
                labels.append(identity)
    if not images:
        raise DatasetError(f"no bundled font draws any of the characters. Received: {len(fonts)} fonts")
    return np.stack(images), np.asarray(labels, np.int32)


def glyph_arrays(*, image_size=32, poses=2, seed=0, characters=None):
    """Every bundled font's drawing of every character, each in ``poses`` random poses.

    Args:
        image_size: square image side in pixels (drawn at 32, then resized with antialiasing).
        poses: random poses of each font's drawing (>= 1). The first pose of
            each drawing is jittered too, so no image is upright and centred.
        seed: random seed of the poses.
        characters: the identities (default: :func:`distinct_characters`).

    Returns:
        ``(images float32 (n, image_size, image_size, 1) in [0, 1], labels int32, names)``
        with ``names[label]`` the character.
    """
    import tensorflow as tf

    from dlkit.verification.sampling import random_affine

    if not isinstance(poses, (int, np.integer)) or poses < 1:
        raise ConfigError(f"poses must be an integer >= 1. Received: poses={poses!r}")
    characters = tuple(distinct_characters() if characters is None else characters)
    glyphs, labels = _glyph_sheet(characters)
    glyphs = tf.constant(glyphs[..., None], tf.float32) / 255.0
    posed = [
        random_affine(glyphs, [seed, pose], shift=0.08, zoom=0.12, rotation=0.03, shear=0.15) for pose in range(poses)
    ]
    images = tf.concat(posed, axis=0)
    if image_size != _CANVAS:
        images = tf.image.resize(images, (image_size, image_size), antialias=True)
    images = tf.clip_by_value(images, 0.0, 1.0).numpy()
    return images, np.tile(labels, poses), list(characters)
