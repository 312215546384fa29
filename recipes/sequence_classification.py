"""Sequence classification: many-to-one (a surname's language) and many-to-many (person names in news text).

``--task classify`` (default): which language a surname comes from, character
by character, as in PyTorch's "classifying names with a character-level RNN"
tutorial, on offline data: the per-locale surname lists the Faker package
ships (ten Latin-script languages, a surname two languages share dropped,
split so that no name is in two splits). A bidirectional GRU reads the
characters (Schuster & Paliwal 1997; Cho et al. 2014) and is compared, on the
same split, with the classic baseline: a logistic regression on character
1-4-gram TF-IDF features (scikit-learn), its C chosen on the dev split.

``--task tag``: a tagger marks the tokens of real news sentences (gensim's
bundled Lee corpus) that are person names. Names from Faker's lists were put
into the sentences (after titles, for subject pronouns, in attributions:
``Lindqvist said``); test names never occur in training and no name is a
word of the corpus, so the tagger sees every name as the unknown word and must
find it from its context. A left-to-right tagger and a bidirectional one are
trained identically and compared by token-level precision, recall and F1 of
the ``PER`` tag: the words after a name (``said``) are often what tells.

    python recipes/sequence_classification.py --quick                  # names, ~1-2 min on 2 shared CPU cores
    python recipes/sequence_classification.py                          # names, ~6 min on 2 shared CPU cores
    python recipes/sequence_classification.py --task tag --quick        # tagging, uni vs bidirectional, ~1-2 min
    python recipes/sequence_classification.py --task tag
    python recipes/sequence_classification.py --cell lstm --units 128 --layers 2 --dropout 0.3

Writes into --out (default runs/sequence_classification-<timestamp>):
config.json, metrics.json, model.keras (token ids in, probabilities out),
vocabulary.json (the ids: CharVocabulary for names, WordVocabulary for
tagging), run.json, history.csv, curves.png, confusion_matrix.png, and

    classify   mistakes.png                     test names the network got wrong, with its probabilities
    tag        model_unidirectional.keras       the left-to-right tagger it is compared with
               tagged_sentences.png             test sentences, names found / missed / wrongly tagged
               unidirectional/ bidirectional/   each tagger's history.csv

    python recipes/predict.py runs/sequence_classification-... Lindqvist Moretti "van der Berg"
    python recipes/predict.py runs/sequence_classification-tag... "Asked about the fire, Okonkwo said no."
"""

import sys

from dlkit import cli

TASKS = ("classify", "tag")
CELLS = ("simple", "gru", "lstm")


def parse_args(argv=None):
    parser = cli.recipe_parser("sequence_classification", __doc__)
    parser.add_argument("--task", choices=TASKS, default="classify", help="classify names, or tag names in text")
    parser.add_argument("--cell", choices=CELLS, default="gru", help="recurrent cell (default: gru)")
    parser.add_argument("--units", type=cli.positive_int, default=None,
                        help="state size per direction (default: classify 128, tag 64; --quick 64, 32)")
    parser.add_argument("--embedding-dim", type=cli.positive_int, default=None,
                        help="size of a character's / word's vector (default: classify 64, tag 64)")
    parser.add_argument("--layers", type=cli.positive_int, default=1, help="stacked recurrent layers (default: 1)")
    parser.add_argument("--dropout", type=cli.fraction, default=None,
                        help="dropout after each recurrent layer (default: classify 0.3, tag 0.2)")
    parser.add_argument("--unidirectional", action="store_true",
                        help="classify: left-to-right only (tag trains both directions' taggers anyway)")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=3e-3,
                        help="Adam's initial rate, cosine decay (default: 3e-3)")
    args = parser.parse_args(argv)
    if args.dropout is not None and args.dropout >= 1.0:
        from dlkit.errors import ConfigError

        raise ConfigError(f"--dropout must be below 1. Received: --dropout {args.dropout}")
    return args


def main(argv=None):
    args = parse_args(argv)
    out = cli.start_run(args, "sequence_classification")
    if args.task == "classify":
        metrics, headline = classify_names(args, out)
    else:
        metrics, headline = tag_names(args, out)
    return cli.finish_run(out, metrics, headline, recipe="sequence_classification")


# --------------------------------------------------------------------------- classify


def classify_names(args, out):
    import tensorflow as tf

    from dlkit import evaluation, inference, training
    from dlkit.sequence import CharVocabulary, names, sequence_classifier
    from dlkit.sequence.baselines import ngram_classifier
    from dlkit.sequence.plots import plot_mistakes
    from dlkit.sequence.text import right_pad

    epochs = args.epochs or (10 if args.quick else 30)
    batch_size = args.batch_size or 64
    units = args.units or (64 if args.quick else 128)
    embedding_dim = args.embedding_dim or 64
    dropout = 0.3 if args.dropout is None else args.dropout

    # 1. Data: Faker's surnames by language, no name in two splits. Characters as ids, cased (capitals help:
    #    "van der Berg", "McCarthy"); the vocabulary comes from the training names only.
    by_language = names.surnames_by_language()
    class_names = list(by_language)
    splits = names.split_names(by_language, seed=args.seed)
    vocabulary = CharVocabulary.from_text("".join(splits["train"][0]))
    inputs = {split: right_pad([vocabulary.encode(name) for name in items]) for split, (items, _) in splits.items()}
    labels = {split: labels for split, (_, labels) in splits.items()}
    print(f"{len(class_names)} languages, " + ", ".join(f"{split} {len(labels[split])}" for split in labels)
          + f" names, {vocabulary.size} character ids", flush=True)

    def dataset(split, shuffle=False):
        data = tf.data.Dataset.from_tensor_slices((inputs[split], labels[split]))
        if shuffle:
            data = data.shuffle(len(labels[split]), seed=args.seed, reshuffle_each_iteration=True)
        return data.batch(batch_size)

    # 2. The baseline: logistic regression on character n-grams (within word boundaries), C picked on dev.
    baseline, baseline_c, baseline_dev = ngram_classifier(
        splits["train"][0], labels["train"], splits["dev"][0], labels["dev"],
        c_values=(10.0,) if args.quick else (3.0, 10.0, 30.0))  # --quick: the C the full grid picks
    baseline_report = evaluation.classification_report(
        labels["test"], baseline.predict_proba(splits["test"][0]), class_names)
    print(f"n-gram logistic regression (C={baseline_c:g}): dev {baseline_dev:.4f}, "
          f"test {baseline_report['accuracy']:.4f}", flush=True)

    # 3. The network: characters -> embedding (0 = padding, masked) -> (bidirectional) GRU -> softmax.
    def build():
        return sequence_classifier(vocabulary.size, len(class_names), embedding_dim=embedding_dim, units=units,
                                   num_layers=args.layers, cell=args.cell, bidirectional=not args.unidirectional,
                                   dropout=dropout, name="name_classifier")

    result = training.fit(
        build, dataset("train", shuffle=True), dataset("dev"), epochs=epochs, learning_rate=args.learning_rate,
        schedule="cosine", clipnorm=1.0, out=out, monitor="val_accuracy", restore_best=True, keep_backup=True,
        strategy=args.strategy, mixed_precision=args.mixed_precision, **cli.progress_options(args),
    )
    model = result.model
    inference.save_model(model, out / "model.keras")
    vocabulary.save(out / "vocabulary.json")
    inference.write_run(out, "text_classification", "sequence_classification", model="model.keras",
                        vocabulary="vocabulary.json", class_names=class_names, lowercase=False)

    # 4. Evaluate both on the same test names; pictures.
    reports = {}
    for split in ("train", "dev", "test"):
        probabilities = model.predict(inputs[split], batch_size=256, verbose=0)  # compiled: fast on CPU too
        reports[split] = evaluation.classification_report(labels[split], probabilities, class_names)
    report = reports["test"]
    evaluation.plot_curves(result.history, out / "curves.png", title=f"{args.cell} on surnames")
    evaluation.plot_confusion_matrix(report["confusion_matrix"], class_names, out / "confusion_matrix.png",
                                     title=f"{'Bi' if not args.unidirectional else ''}{args.cell.upper()} "
                                           f"on test surnames (accuracy {report['accuracy']:.3f})")
    plot_mistakes(splits["test"][0], labels["test"], probabilities, class_names, out / "mistakes.png")

    metrics = {
        "task": "classify",
        "cell": args.cell,
        "bidirectional": not args.unidirectional,
        "test_accuracy": report["accuracy"],
        "dev_accuracy": reports["dev"]["accuracy"],
        "train_accuracy": reports["train"]["accuracy"],
        "test_macro_f1": report["macro_f1"],
        "ngram_test_accuracy": baseline_report["accuracy"],
        "ngram_dev_accuracy": baseline_dev,
        "ngram_test_macro_f1": baseline_report["macro_f1"],
        "ngram_c": baseline_c,
        "accuracy_gain_over_ngram": report["accuracy"] - baseline_report["accuracy"],
        "classes": len(class_names),
        "train_names": len(labels["train"]),
        "test_names": len(labels["test"]),
        "params": model.count_params(),
        "epochs": len(result.history.get("loss", [])),
        "train_seconds": round(result.seconds, 2),
    }
    for name, scores in report["per_class"].items():
        for key in ("precision", "recall", "f1"):
            metrics[f"{key}_{name}"] = scores[key]
        metrics[f"ngram_f1_{name}"] = baseline_report["per_class"][name]["f1"]
    return metrics, ["test_accuracy", "ngram_test_accuracy", "test_macro_f1", "ngram_test_macro_f1",
                     "train_seconds"]


# --------------------------------------------------------------------------- tag


def tag_names(args, out):
    import numpy as np

    from dlkit import evaluation, inference, training
    from dlkit.sequence import WordVocabulary, sequence_tagger, tagging
    from dlkit.sequence.plots import plot_tagged_sentences

    epochs = args.epochs or (6 if args.quick else 20)
    batch_size = args.batch_size or 32
    units = args.units or (32 if args.quick else 64)
    embedding_dim = args.embedding_dim or 64
    dropout = 0.2 if args.dropout is None else args.dropout
    if args.unidirectional:
        print("--unidirectional is ignored by --task tag: it trains both taggers to compare them", flush=True)

    # 1. Data: Lee-corpus sentences with Faker names put in; the vocabulary holds the corpus' training words
    #    seen twice or more, never a name, so every name reaches the tagger as the unknown word.
    data = tagging.name_tagging_data(seed=args.seed)
    tag_names = list(data.tag_names)
    vocabulary = WordVocabulary.from_tokens(data.original["train"], min_count=2)
    inputs = {split: [vocabulary.encode(tokens) for tokens in sentences]
              for split, (sentences, _) in data.splits.items()}
    targets = {split: tags for split, (_, tags) in data.splits.items()}
    print(", ".join(f"{split} {len(targets[split])} sentences ({sum(int(t.sum()) for t in targets[split])} name "
                    f"tokens)" for split in targets) + f", {vocabulary.size} word ids", flush=True)

    def dataset(split, shuffle=False):
        return tagging.tagging_batches(inputs[split], targets[split], batch_size, shuffle=shuffle, seed=args.seed)

    # 2. Two taggers, identical but for the direction they read in.
    results, predictions, scores = {}, {}, {}
    for direction in ("unidirectional", "bidirectional"):
        def build(direction=direction):
            return sequence_tagger(vocabulary.size, len(tag_names), embedding_dim=embedding_dim, units=units,
                                   num_layers=args.layers, cell=args.cell,
                                   bidirectional=direction == "bidirectional", dropout=dropout,
                                   name=f"{direction}_tagger")

        print(f"training the {direction} tagger", flush=True)
        results[direction] = training.fit(
            build, dataset("train", shuffle=True), dataset("dev"), epochs=epochs, learning_rate=args.learning_rate,
            schedule="cosine", clipnorm=1.0, out=out / direction, restore_best=True, keep_backup=True,
            strategy=args.strategy, mixed_precision=args.mixed_precision, **cli.progress_options(args),
        )
        model = results[direction].model
        predictions[direction] = {split: tagging.predict_tags(model, inputs[split]) for split in ("dev", "test")}
        scores[direction] = {split: tagging.token_scores(targets[split], predictions[direction][split])
                             for split in ("dev", "test")}
        print(f"{direction}: test PER precision {scores[direction]['test']['precision']:.3f} "
              f"recall {scores[direction]['test']['recall']:.3f} F1 {scores[direction]['test']['f1']:.3f}",
              flush=True)

    inference.save_model(results["bidirectional"].model, out / "model.keras")
    inference.save_model(results["unidirectional"].model, out / "model_unidirectional.keras")
    vocabulary.save(out / "vocabulary.json")
    inference.write_run(out, "tagging", "sequence_classification", model="model.keras",
                        vocabulary="vocabulary.json", tag_names=tag_names, lowercase=False)

    # 3. Pictures: the bidirectional tagger's confusion of tags, learning curves of both, tagged test sentences.
    flat_true = np.concatenate(targets["test"])
    flat_predicted = np.concatenate(predictions["bidirectional"]["test"])
    report = evaluation.classification_report(flat_true, flat_predicted, tag_names)
    evaluation.plot_confusion_matrix(report["confusion_matrix"], tag_names, out / "confusion_matrix.png",
                                     title="Bidirectional tagger: test tokens")
    history = {}
    for direction, short in (("unidirectional", "uni"), ("bidirectional", "bi")):
        for key, values in results[direction].history.items():
            if key in ("loss", "val_loss"):
                history[key.replace("loss", f"loss_{short}")] = values
            elif key in ("accuracy", "val_accuracy"):
                history[key.replace("accuracy", f"accuracy_{short}")] = values
    evaluation.plot_curves(history, out / "curves.png", title="Taggers: left-to-right (uni) vs bidirectional (bi)")
    plot_tagged_sentences(data.splits["test"][0], targets["test"], predictions, out / "tagged_sentences.png")

    uni, bi = scores["unidirectional"]["test"], scores["bidirectional"]["test"]
    metrics = {
        "task": "tag",
        "cell": args.cell,
        "per_f1_bidirectional": bi["f1"],
        "per_precision_bidirectional": bi["precision"],
        "per_recall_bidirectional": bi["recall"],
        "per_f1_unidirectional": uni["f1"],
        "per_precision_unidirectional": uni["precision"],
        "per_recall_unidirectional": uni["recall"],
        "per_f1_gain": bi["f1"] - uni["f1"],
        "dev_per_f1_bidirectional": scores["bidirectional"]["dev"]["f1"],
        "dev_per_f1_unidirectional": scores["unidirectional"]["dev"]["f1"],
        "test_token_accuracy": report["accuracy"],
        "test_name_tokens": bi["support"],
        "test_tokens": int(flat_true.size),
        "train_sentences": len(targets["train"]),
        "test_sentences": len(targets["test"]),
        "vocabulary_size": vocabulary.size,
        "params": results["bidirectional"].model.count_params(),
        "params_unidirectional": results["unidirectional"].model.count_params(),
        "epochs": epochs,
        "train_seconds": round(sum(result.seconds for result in results.values()), 2),
    }
    return metrics, ["per_f1_bidirectional", "per_f1_unidirectional", "per_f1_gain", "train_seconds"]


if __name__ == "__main__":
    sys.exit(cli.run(main))
