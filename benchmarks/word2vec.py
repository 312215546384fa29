"""dlkit word2vec vs gensim Word2Vec(sg=1), same corpus and hyper-parameters, interleaved rounds in one process.

All sides train skip-gram with negative sampling on gensim's bundled head500
corpus (331k tokens of stemmed Wikipedia text) with dim 100, window 5,
negative 5, min_count 5, sample 1e-3, 5 epochs, alpha 0.025 -> 1e-4; gensim
with 2 worker threads. Sides:

- ``gensim``: ``Word2Vec(sg=1, workers=2)``, vocabulary built outside the timing;
- ``dlkit``: ``train_word2vec`` with its default (shared negatives);
- ``dlkit_exact``: ``train_word2vec(negatives="exact")`` (per-pair negatives), unless ``--no-exact``.

Each round trains every side once from scratch (order rotated per round, seed =
the round number), via ``benchmarks/timing.py``; dlkit's time includes its
vocabulary, XLA compile and the making of pairs. Ratios are medians over rounds
of words/s (wall) and words per CPU-second (this process's CPU time), dlkit
over gensim (> 1: dlkit is faster). Quality of each round's vectors is measured
with the same gensim ``KeyedVectors`` code for all sides: Spearman on
WordSim-353 and SimLex-999, 3CosAdd accuracy on questions-words; the medians
are reported.

    PYTHONPATH=. python benchmarks/word2vec.py                 # 3 rounds, prints one JSON object
    PYTHONPATH=. python benchmarks/word2vec.py --rounds 7 --no-exact
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import Session, interleave  # noqa: E402  (benchmarks/ is on sys.path)

HYPER = dict(dim=100, window=5, negative=5, min_count=5, sample=1e-3, epochs=5)


def evaluate(keyed):
    """WordSim-353 and SimLex-999 Spearman, analogy accuracy, with gensim's evaluation code."""
    from gensim.test.utils import datapath

    return {
        "wordsim353_spearman": float(keyed.evaluate_word_pairs(datapath("wordsim353.tsv"))[1][0]),
        "simlex999_spearman": float(keyed.evaluate_word_pairs(datapath("simlex999.txt"))[1][0]),
        "analogy_accuracy": float(keyed.evaluate_word_analogies(datapath("questions-words.txt"))[0]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default: 3)")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact (per-pair negatives) variant")
    args = parser.parse_args(argv)

    from gensim.models import Word2Vec as GensimWord2Vec

    from dlkit.embeddings import read_corpus, train_word2vec

    sentences = read_corpus("head500")
    corpus_words = sum(map(len, sentences))
    trained = {}  # per side, the vectors of each round: evaluated after the timing (it is not training time)
    calls = {}  # per side: its round number is its seed (each side gets seeds 0, 1, 2, ...)

    def next_seed(name):
        calls[name] = calls.get(name, -1) + 1
        return calls[name]

    def gensim():
        model = GensimWord2Vec(vector_size=HYPER["dim"], window=HYPER["window"], negative=HYPER["negative"],
                               min_count=HYPER["min_count"], sample=HYPER["sample"], epochs=HYPER["epochs"], sg=1,
                               workers=2, seed=next_seed("gensim"))
        model.build_vocab(sentences)
        return model

    def run_gensim():
        # build_vocab is inside the timing for gensim too (dlkit's vocabulary is): it is ~0.2 s of ~4 s.
        model = gensim()
        model.train(sentences, total_examples=len(sentences), epochs=HYPER["epochs"])
        trained.setdefault("gensim", []).append(model.wv)

    def dlkit_side(name, **options):
        def run():
            result = train_word2vec(sentences, **HYPER, seed=next_seed(name), **options)
            trained.setdefault(name, []).append(result.vectors)
        return run

    sides = {"gensim": run_gensim, "dlkit": dlkit_side("dlkit")}
    if not args.no_exact:
        sides["dlkit_exact"] = dlkit_side("dlkit_exact", negatives="exact")
    work = {name: corpus_words * HYPER["epochs"] for name in sides}
    session = Session("word2vec", {**HYPER, "corpus": "head500", "corpus_words": corpus_words, "gensim_workers": 2,
                                   "rounds": args.rounds, "exact": not args.no_exact})
    rounds = interleave(sides, rounds=args.rounds, warmup=0, work=work)
    quality = {name: [evaluate(vectors if name == "gensim" else vectors.to_gensim()) for vectors in runs]
               for name, runs in trained.items()}
    figures = {}
    for name in sides:
        if name == "gensim":
            continue
        figures[name] = {
            "words_per_second_ratio": rounds.speed_ratio(name, "gensim"),
            "words_per_cpu_second_ratio": rounds.speed_ratio(name, "gensim", clock="cpu"),
        }
    rates = {name: {"words_per_second": rounds.rate(name), "words_per_cpu_second": rounds.rate(name, "cpu")}
             for name in sides}
    medians = {name: {key: round(statistics.median(run[key] for run in runs), 4) for key in runs[0]}
               for name, runs in quality.items()}
    return session.finish({"ratios_vs_gensim": figures, "rates": rates, "quality": medians,
                           "quality_per_round": quality, **rounds.summary(unit="s")})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
