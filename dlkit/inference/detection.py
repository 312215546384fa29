"""The detector's predictor: boxes with class names and scores in each image's own pixels."""

import numpy as np

from dlkit.inference.classification import ImagePredictor


class DetectionPredictor(ImagePredictor):
    """Runs a ``detection`` run's serving model (decoding and NMS inside it) on image files.

    Detections below the card's ``score_threshold`` (what the run drew in
    ``detections.png``) are left out unless ``score_threshold`` is given.
    """

    task = "detection"

    def __init__(self, card):
        super().__init__(card)
        self.class_names = [str(name) for name in card["class_names"]]
        self.score_threshold = float(card.get("score_threshold", 0.3))

    def __call__(self, inputs, out=None, score_threshold=None):
        threshold = self.score_threshold if score_threshold is None else float(score_threshold)
        names, images, outputs = self.outputs(inputs)
        records = []
        for name, image, output in zip(names, images, outputs):
            count = int(output["num_detections"])
            detections = []
            for box, score, class_id in zip(output["boxes"][:count], output["scores"][:count],
                                            output["classes"][:count]):
                if score < threshold:
                    continue
                detections.append({"label": self.class_names[int(class_id)], "class_id": int(class_id),
                                   "score": round(float(score), 4),
                                   "box": [round(float(value), 2) for value in np.asarray(box)]})
            records.append({"input": name, "width": int(image.shape[1]), "height": int(image.shape[0]),
                            "bounding_box_format": "xyxy", "detections": detections})
        if out is not None:
            from dlkit.inference.pictures import save_detections

            save_detections(images, records, out)
        return records

    @staticmethod
    def line(record):
        found = "; ".join(f"{item['label']} {item['score']:.2f} at [{', '.join(f'{v:.0f}' for v in item['box'])}]"
                          for item in record["detections"])
        return f"{record['input']}: {len(record['detections'])} object(s)" + (f": {found}" if found else "")
