"""Pictures of predictions at the input image's own resolution (Pillow), for people to look at."""

import pathlib

import numpy as np

PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


def as_rgb(image):
    """``(H, W, 1-4)`` pixels in [0, 255] -> uint8 RGB (alpha composited over white)."""
    image = np.asarray(image, np.float32)
    if image.shape[-1] in (2, 4):
        alpha = image[..., -1:] / 255.0
        image = image[..., :-1] * alpha + 255.0 * (1.0 - alpha)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def output_path(out, name, suffix, taken=None):
    """``out/<input stem><suffix>``, made unique within one call through ``taken``."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = pathlib.Path(name).stem if not name.startswith("array[") else name.replace("[", "_").replace("]", "")
    path = out / f"{stem}{suffix}"
    if taken is not None:
        count = 1
        while path in taken:
            count += 1
            path = out / f"{stem}-{count}{suffix}"
        taken.add(path)
    return path


#: Pictures smaller than this (shorter side, pixels) are enlarged before drawing, so labels stay readable.
MIN_SIDE = 256


def _canvas(image):
    """``(picture, draw, line width, font, scale)``: the image as RGB, enlarged ``scale`` times when small."""
    from PIL import Image, ImageDraw, ImageFont

    picture = Image.fromarray(as_rgb(image))
    scale = max(1, -(-MIN_SIDE // min(picture.size)))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    side = min(picture.size)
    width = max(2, round(side / 160))
    try:
        font = ImageFont.load_default(size=max(10, round(side / 28)))
    except TypeError:  # Pillow < 10.1 has one bitmap size
        font = ImageFont.load_default()
    return picture, ImageDraw.Draw(picture), width, font, scale


def _label(draw, font, x, y, text, color):
    """A filled tag with ``text`` just above the point ``(x, y)`` (inside the picture)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tag_top = max(0, y - (bottom - top) - 4)
    draw.rectangle((x, tag_top, x + right - left + 6, tag_top + bottom - top + 4), fill=color)
    draw.text((x + 3 - left, tag_top + 2 - top), text, fill="black", font=font)


def draw_detections(image, detections):
    """Returns a ``PIL.Image`` of ``image`` with each detection's box, class name and score.

    Boxes are in the image's pixels; a small image is enlarged first (nearest
    neighbour) and the boxes with it. The best detections are drawn last, on top.
    """
    picture, draw, width, font, scale = _canvas(image)
    ordered = sorted(detections, key=lambda detection: detection["score"])
    for detection in ordered:
        color = PALETTE[int(detection["class_id"]) % len(PALETTE)]
        draw.rectangle([value * scale for value in detection["box"]], outline=color, width=width)
    for detection in ordered:
        color = PALETTE[int(detection["class_id"]) % len(PALETTE)]
        x1, y1 = detection["box"][0] * scale, detection["box"][1] * scale
        _label(draw, font, x1, y1, f"{detection['label']} {detection['score']:.2f}", color)
    return picture


def save_detections(images, records, out):
    """Writes ``<input>.detections.png`` for each record and stores its path in the record."""
    taken = set()
    for image, record in zip(images, records):
        path = output_path(out, record["input"], ".detections.png", taken)
        draw_detections(image, record["detections"]).save(path)
        record["picture"] = str(path)


def draw_localizations(images, records, out):
    """Writes ``<input>.localization.png`` (box, class and landmarks) for each record."""
    taken = set()
    for image, record in zip(images, records):
        picture, draw, width, font, scale = _canvas(image)
        if record["object"]:
            x1, y1, x2, y2 = (value * scale for value in record["box"])
            draw.rectangle((x1, y1, x2, y2), outline=PALETTE[0], width=width)
            for x, y in record.get("landmarks", []):
                radius = 2 * width
                x, y = x * scale, y * scale
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=PALETTE[4], width=width)
            _label(draw, font, x1, y1, f"{record['label']} {record['class_probability']:.2f}", PALETTE[0])
        path = output_path(out, record["input"], ".localization.png", taken)
        picture.save(path)
        record["picture"] = str(path)
