"""word2vec: skip-gram (or CBOW) with negative sampling on a text corpus, evaluated and exported.

Trains word vectors with dlkit.embeddings (sparse SGD, linearly decaying
learning rate, frequent-word subsampling, negatives from counts**0.75 with
accidental hits removed), evaluates them on gensim's bundled WordSim-353
(Spearman) and Google analogy questions (3CosAdd accuracy), prints the nearest
neighbours of a few probe words and writes:

    vectors.txt      word2vec text format (gensim KeyedVectors.load_word2vec_format reads it)
    vocabulary.tsv   word and count per line, in the model's id order
    run.json         what recipes/predict.py needs: neighbours (king) and analogies (man:king::woman)
    vectors.tsv      \\ embedding projector files (projector.tensorflow.org: Load)
    metadata.tsv     /
    tsne.png         t-SNE of the probe words and their neighbours
    model.keras      the Word2Vec Keras model (both embedding tables)
    metrics.json     words_per_second, vocab_size, train_words, wordsim353_spearman, analogy_accuracy, train_seconds, total_seconds

Commands:

    python recipes/word2vec.py --quick                      # head500 (offline), < 60 s on 2 CPU cores
    python recipes/word2vec.py                              # head500, gensim's hyper-parameters, 10 epochs
    python recipes/word2vec.py --corpus my_texts/ --dim 200 --epochs 10 --min-count 3
    python recipes/word2vec.py --corpus tfds:imdb_reviews --data-dir ~/tensorflow_datasets
    python recipes/word2vec.py --architecture cbow --probes king,war,music
    python recipes/word2vec.py --negatives exact               # word2vec's per-pair negatives (slower)

--corpus takes a bundled name (head500, lee, lee_background, crime_and_punishment),
a text file, a folder of .txt files, or tfds:<name> (needs the network or a
prepared --data-dir).
"""

import sys

from dlkit import cli
from dlkit.errors import ConfigError

DEFAULT_PROBES = "king,war,music,church,german,comput,film,languag"  # head500 is stemmed text8


def parse_args(argv=None):
    parser = cli.recipe_parser("word2vec", __doc__)
    parser.add_argument("--corpus", default="head500", help="bundled name, file, folder or tfds:<name>")
    parser.add_argument("--architecture", choices=("skipgram", "cbow"), default="skipgram")
    parser.add_argument("--dim", type=cli.positive_int, default=100, help="vector size (default: 100)")
    parser.add_argument("--window", type=cli.positive_int, default=5, help="maximum window (default: 5)")
    parser.add_argument("--negative", type=cli.positive_int, default=5, help="negatives per pair (default: 5)")
    parser.add_argument("--min-count", type=cli.positive_int, default=5, help="drop rarer words (default: 5)")
    parser.add_argument("--sample", type=cli.fraction, default=1e-3,
                        help="subsampling threshold, 0 for none (default: 1e-3)")
    parser.add_argument("--alpha", type=cli.positive_float, default=0.025,
                        help="initial learning rate (default: 0.025)")
    parser.add_argument("--negatives", choices=("shared", "exact"), default=None,
                        help="negatives shared by a batch's pairs (fast) or drawn per pair (word2vec's); "
                             "default: shared for skipgram, exact for cbow")
    parser.add_argument("--probes", default=DEFAULT_PROBES, help="comma-separated words to show neighbours of")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.strategy not in ("auto", "default") or args.mixed_precision:
        # Sparse scatter updates of one pair of tables: no replica merging, and float16 tables lose the small updates.
        raise ConfigError(
            "word2vec trains on one device in float32 (sparse SGD); drop --strategy/--mixed-precision. "
            f"Received: --strategy {args.strategy}, --mixed-precision {args.mixed_precision}"
        )
    out = cli.start_run(args, "word2vec")

    from gensim.test.utils import datapath

    from dlkit import inference
    from dlkit.embeddings import read_corpus, train_word2vec

    epochs = args.epochs or (5 if args.quick else 10)
    sentences = read_corpus(args.corpus, data_dir=args.data_dir)
    result = train_word2vec(
        sentences, dim=args.dim, window=args.window, negative=args.negative, min_count=args.min_count,
        sample=args.sample, epochs=epochs, architecture=args.architecture, alpha=args.alpha,
        batch_size=args.batch_size, negatives=args.negatives, seed=args.seed, backup=out / "backup",
        keep_backup=True,
        **cli.progress_options(args, logs=out / "logs"),
    )
    vectors = result.vectors
    pairs = vectors.evaluate_word_pairs(datapath("wordsim353.tsv"))
    analogies = vectors.evaluate_analogies(datapath("questions-words.txt"))

    probes = [word for word in args.probes.split(",") if word in vectors]
    words, groups = [], []
    for probe in probes:
        neighbours = vectors.most_similar(probe, topn=10)
        print(f"{probe}: " + ", ".join(f"{word} ({score:.2f})" for word, score in neighbours), flush=True)
        for word in [probe] + [word for word, _ in neighbours]:
            if word not in words:
                words.append(word)
                groups.append(probe)

    vectors.save_word2vec_format(out / "vectors.txt")
    vectors.save_projector(out)
    inference.save_model(result.model, out / "model.keras")
    # The vocabulary in the model's id order, with counts: row i of the model's tables is words[i].
    inference.write_atomically(out / "vocabulary.tsv", lambda path: path.write_text(
        "".join(f"{word}\t{count}\n" for word, count in zip(vectors.words, vectors.counts))))
    inference.write_run(out, "word_vectors", "word2vec", vectors="vectors.txt", model="model.keras",
                        vocabulary="vocabulary.tsv", architecture=args.architecture, dim=args.dim)
    if len(words) >= 5:
        vectors.plot_tsne(out / "tsne.png", words=words, groups=groups, seed=args.seed,
                          title=f"t-SNE of word2vec vectors ({args.corpus}): probe words and their neighbours")
    else:  # no probe word in this corpus' vocabulary: show the most frequent words
        vectors.plot_tsne(out / "tsne.png", limit=150, seed=args.seed)

    metrics = {
        "words_per_second": result.words_per_second,
        "vocab_size": len(vectors),
        "train_words": result.train_words,
        "train_examples": result.examples,
        "train_seconds": result.seconds,
        "final_loss": result.losses[-1],
        "wordsim353_spearman": pairs["spearman"],
        "wordsim353_pearson": pairs["pearson"],
        "wordsim353_oov_ratio": pairs["oov_ratio"],
        "analogy_accuracy": analogies["accuracy"],
        "analogy_questions": analogies["total"],
        "epochs": epochs,
    }
    return cli.finish_run(
        out, metrics, ["wordsim353_spearman", "analogy_accuracy", "words_per_second", "vocab_size", "train_seconds"],
        "word2vec",
    )



if __name__ == "__main__":
    sys.exit(cli.run(main))
