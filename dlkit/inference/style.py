"""The style-transfer predictor: paints new content images with the run's style images and settings.

Gatys et al.'s method has no network to reuse: it optimizes each image's pixels
against a fixed VGG. A ``style_transfer`` run folder keeps copies of its style
images and its settings, so ``predict`` repeats the run on new content.
"""

import time

from dlkit.inference.base import Predictor
from dlkit.inference.images import load_inputs
from dlkit.inference.pictures import as_rgb, output_path

#: ``stylize`` arguments a run records and ``predict`` reuses.
SETTINGS = ("steps", "size", "optimizer", "content_weight", "style_weight", "tv_weight", "preserve_color",
            "style_blend", "learning_rate", "weights", "seed")


class StylePredictor(Predictor):
    """Stylizes each content image; with ``out``, writes ``<input>.stylized.png`` there."""

    task = "style_transfer"

    def __init__(self, card):
        super().__init__(card)
        from dlkit import style

        self.settings = {key: value for key, value in card.get("settings", {}).items() if key in SETTINGS}
        names = card.get("style_images") or []
        self.styles = [style.load_image(self.folder / name) for name in names] if names else []
        if not self.styles:
            self.file("style_images")  # raises: the run names no style image
        self._extractor = None

    def __call__(self, inputs, out=None, steps=None):
        from dlkit import style
        from dlkit.style.features import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, feature_extractor

        if self._extractor is None:
            self._extractor = feature_extractor(list(DEFAULT_STYLE_LAYERS), DEFAULT_CONTENT_LAYER, "vgg16",
                                                self.settings.get("weights", "vgg16-hed"))
        settings = {key: value for key, value in self.settings.items() if key != "weights"}
        if steps is not None:
            settings["steps"] = int(steps)
        records, taken = [], set()
        for name, pixels in load_inputs(inputs):
            started = time.perf_counter()
            result = style.stylize(as_rgb(pixels).astype("float32"), self.styles, extractor=self._extractor,
                                   **settings)
            record = {"input": name, "width": int(result.image.shape[1]), "height": int(result.image.shape[0]),
                      "steps": result.steps, "final_loss": float(result.log["total"][-1]),
                      "style_loss_reduction": 1.0 - result.log["style"][-1] / max(result.log["style"][0], 1e-12),
                      "seconds": round(time.perf_counter() - started, 2)}
            if out is not None:
                path = output_path(out, name, ".stylized.png", taken)
                style.save_png(result.image, path)
                record["output"] = str(path)
            record["image"] = result.image
            records.append(record)
        return records

    @staticmethod
    def line(record):
        where = f" -> {record['output']}" if "output" in record else ""
        return (f"{record['input']}: stylized {record['width']}x{record['height']} in {record['steps']} steps "
                f"(style loss -{100 * record['style_loss_reduction']:.1f}%){where}")
