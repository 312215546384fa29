"""The character n-gram baseline: C chosen on dev, the same model as fitting scikit-learn by hand."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from dlkit.sequence.baselines import ngram_classifier

TRAIN = ["Kowalski", "Nowak", "Wisniewski", "Garcia", "Martinez", "Lopez", "Smith", "Johnson", "Williams",
         "Lewandowski", "Fernandez", "Brown"]
TRAIN_LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2]
DEV = ["Zielinski", "Gonzalez", "Jones", "Wozniak", "Sanchez", "Taylor"]
DEV_LABELS = [0, 1, 2, 0, 1, 2]


def test_c_is_the_best_on_dev_and_the_pipeline_equals_scikit_learn_by_hand():
    pipeline, c, accuracy = ngram_classifier(TRAIN, TRAIN_LABELS, DEV, DEV_LABELS, c_values=(0.01, 10.0))
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), lowercase=False, sublinear_tf=True)
    features = vectorizer.fit_transform(TRAIN)
    by_hand = {value: LogisticRegression(C=value, max_iter=3000).fit(features, TRAIN_LABELS)
               for value in (0.01, 10.0)}
    dev_scores = {value: model.score(vectorizer.transform(DEV), DEV_LABELS) for value, model in by_hand.items()}
    assert accuracy == max(dev_scores.values()) and dev_scores[c] == accuracy
    np.testing.assert_allclose(pipeline.predict_proba(DEV), by_hand[c].predict_proba(vectorizer.transform(DEV)))
