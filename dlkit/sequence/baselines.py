"""A strong non-neural baseline for short-text classification: logistic regression on character n-grams."""


def ngram_classifier(train_texts, train_labels, dev_texts, dev_labels, *, c_values=(3.0, 10.0, 30.0),
                     ngram_range=(1, 4)):
    """TF-IDF character n-grams (inside word boundaries) + logistic regression, with ``C`` picked on dev.

    The anchor a recurrent name classifier is measured against: n-grams list
    the spelling patterns (``-ski``, ``-ez``, ``Mc-``) a character RNN has to
    learn.

    Reference: Cavnar and Trenkle (1994), "N-Gram-Based Text Categorization", SDAIR.

    Args:
        train_texts, train_labels: the training texts and their class ids.
        dev_texts, dev_labels: where ``C`` is chosen.
        c_values: the inverse regularization strengths tried.
        ngram_range: the character n-gram lengths.

    Returns:
        ``(pipeline, c, dev_accuracy)``: a fitted scikit-learn pipeline
        (``predict_proba`` on raw texts), the chosen ``C`` and its dev accuracy.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False, sublinear_tf=True)
    train_features = vectorizer.fit_transform(train_texts)
    dev_features = vectorizer.transform(dev_texts)
    best = None
    for c in c_values:
        candidate = LogisticRegression(C=c, max_iter=3000).fit(train_features, train_labels)
        accuracy = candidate.score(dev_features, dev_labels)
        if best is None or accuracy > best[2]:
            best = (candidate, c, accuracy)
    classifier, c, accuracy = best
    return make_pipeline(vectorizer, classifier), c, accuracy
