"""The face verifier's predictor: who is this (or "unknown"), and are these two the same person."""

import numpy as np

from dlkit.inference.classification import ImagePredictor
from dlkit.inference.images import load_inputs


class VerificationPredictor(ImagePredictor):
    """Identifies faces against a ``verification`` run's database and verifies pairs.

    The model is the embedding (raw pixels in); the database (``database.npz``)
    holds the enrolled people and the threshold chosen at a fixed false-accept
    rate; pairs are judged with the verification threshold (best accuracy on
    the run's pairs).
    """

    task = "verification"

    def __init__(self, card):
        super().__init__(card)
        from dlkit.verification import FaceDatabase
        from dlkit.verification.distances import check_distance

        self.distance = check_distance(card.get("distance", "squared_l2"))
        self.database = FaceDatabase.load(self.file("database"))
        self.verify_threshold = float(card["verify_threshold"])

    def embed(self, inputs):
        names, _, outputs = self.outputs(inputs)
        return names, np.stack([np.asarray(output, np.float32) for output in outputs])

    def __call__(self, inputs, out=None):
        names, embeddings = self.embed(inputs)
        nearest, distances = self.database.nearest(embeddings)
        records = []
        for name, person, distance in zip(names, nearest, distances):
            known = bool(distance <= self.database.threshold)
            records.append({"input": name, "identity": str(person) if known else "unknown",
                            "nearest": str(person), "distance": float(distance),
                            "threshold": self.database.threshold})
        return records

    def verify(self, first, second):
        """One record for a pair of images: distance, the threshold, and whether they are the same person."""
        from dlkit.errors import ConfigError
        from dlkit.verification.distances import paired_distances

        pair = []
        for item in (first, second):
            loaded = load_inputs([item])
            if len(loaded) != 1:
                raise ConfigError(f"verify compares two images, not folders. Received: {item!r}")
            pair.extend(loaded)
        _, embeddings = self.embed([image for _, image in pair])
        distance = float(np.asarray(paired_distances(embeddings[:1], embeddings[1:], self.distance)).reshape(-1)[0])
        return {"first": pair[0][0], "second": pair[1][0], "distance": distance, "threshold": self.verify_threshold,
                "same": distance <= self.verify_threshold}

    @staticmethod
    def line(record):
        if "first" in record:
            verdict = "same identity" if record["same"] else "different identities"
            return (f"{record['first']} vs {record['second']}: {verdict} (distance {record['distance']:.3f}, "
                    f"threshold {record['threshold']:.3f})")
        return (f"{record['input']}: {record['identity']} (nearest {record['nearest']}, distance "
                f"{record['distance']:.3f}, threshold {record['threshold']:.3f})")
