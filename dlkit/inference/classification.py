"""Predictors of image classifiers: one label (classify, transfer_learning), several labels, or a localized object."""

import numpy as np

from dlkit.inference.base import Predictor, load_model, model_runner, run_on_images
from dlkit.inference.images import load_inputs


class ImagePredictor(Predictor):
    """A run whose ``model.keras`` takes raw pixels; subclasses turn its outputs into records."""

    def __init__(self, card):
        super().__init__(card)
        self.model = load_model(self.file("model"))
        self._run = model_runner(self.model)

    def outputs(self, inputs):
        """``(names, pixel arrays, model outputs)`` for paths, folders or arrays."""
        loaded = load_inputs(inputs)
        names = [name for name, _ in loaded]
        images = [image for _, image in loaded]
        return names, images, run_on_images(self._run, images)

    def exportable_model(self):
        return self.model


class ClassificationPredictor(ImagePredictor):
    """Top-k labels with probabilities (``classification`` runs: classify, transfer_learning)."""

    task = "classification"

    def __init__(self, card):
        super().__init__(card)
        self.class_names = [str(name) for name in card["class_names"]]

    def __call__(self, inputs, out=None, top_k=3):
        names, _, outputs = self.outputs(inputs)
        records = []
        for name, probabilities in zip(names, outputs):
            probabilities = np.asarray(probabilities, np.float64).reshape(-1)
            order = np.argsort(-probabilities, kind="stable")[: max(1, int(top_k))]
            ranked = [{"label": self.class_names[index], "probability": float(probabilities[index])} for index in order]
            records.append({"input": name, "label": ranked[0]["label"], "probability": ranked[0]["probability"],
                            "top_k": ranked})
        return records

    @staticmethod
    def line(record):
        rest = ", ".join(f"{item['label']} {item['probability']:.3f}" for item in record["top_k"][1:])
        line = f"{record['input']}: {record['label']} ({record['probability']:.3f})"
        return f"{line}; then {rest}" if rest else line


class MultilabelPredictor(ImagePredictor):
    """Each label's probability, and the labels above the threshold (``multilabel`` runs)."""

    task = "multilabel"

    def __init__(self, card):
        super().__init__(card)
        self.label_names = [str(name) for name in card["label_names"]]
        self.output = card.get("output", "labels")
        self.threshold = float(card.get("threshold", 0.5))

    def __call__(self, inputs, out=None):
        names, _, outputs = self.outputs(inputs)
        records = []
        for name, output in zip(names, outputs):
            probabilities = np.asarray(output[self.output] if isinstance(output, dict) else output).reshape(-1)
            labels = {label: float(value) for label, value in zip(self.label_names, probabilities)}
            present = [label for label, value in labels.items() if value >= self.threshold]
            records.append({"input": name, "present": present, "probabilities": labels})
        return records

    @staticmethod
    def line(record):
        scores = ", ".join(f"{label} {value:.3f}" for label, value in record["probabilities"].items())
        return f"{record['input']}: {' + '.join(record['present']) or 'none'} ({scores})"


class LocalizationPredictor(ImagePredictor):
    """The object's presence, class, box and landmarks in the input's pixels (``localization`` runs)."""

    task = "localization"

    def __init__(self, card):
        super().__init__(card)
        self.class_names = [str(name) for name in card["class_names"]]
        self.threshold = float(card.get("threshold", 0.5))

    def __call__(self, inputs, out=None):
        names, images, outputs = self.outputs(inputs)
        records = []
        for name, image, output in zip(names, images, outputs):
            height, width = image.shape[:2]
            vector = np.asarray(output["localization"], np.float64)
            scale = np.array([width, height, width, height], np.float64)
            record = {"input": name, "width": int(width), "height": int(height),
                      "object_probability": float(vector[0]), "object": bool(vector[0] >= self.threshold)}
            if record["object"]:
                classes = vector[5:]
                record.update(label=self.class_names[int(np.argmax(classes))], class_probability=float(classes.max()),
                              box=[round(float(value), 2) for value in vector[1:5] * scale])
                if "landmarks" in output:
                    points = np.asarray(output["landmarks"], np.float64).reshape(-1, 2) * [width, height]
                    record["landmarks"] = [[round(float(x), 2), round(float(y), 2)] for x, y in points]
            records.append(record)
        if out is not None:
            from dlkit.inference.pictures import draw_localizations

            draw_localizations(images, records, out)
        return records

    @staticmethod
    def line(record):
        if not record["object"]:
            return f"{record['input']}: no object ({record['object_probability']:.3f})"
        box = ", ".join(f"{value:.0f}" for value in record["box"])
        return (f"{record['input']}: {record['label']} ({record['class_probability']:.3f}) at [{box}] "
                f"(object {record['object_probability']:.3f})")
