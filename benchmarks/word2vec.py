"""dlkit word2vec vs gensim Word2Vec(sg=1), same corpus and hyper-parameters, one process.

Both train skip-gram with negative sampling on gensim's bundled head500 corpus
(331k tokens of stemmed Wikipedia text) with dim 100, window 5, negative 5,
min_count 5, sample 1e-3, 5 epochs, alpha 0.025 -> 1e-4; gensim with 2 worker
threads. Throughput is raw corpus words x epochs / training seconds for both
(vocabulary building excluded for both; dlkit's time includes its XLA compile
and the tf.data pipeline start). On a shared machine the wall-clock ratio moves
with the load, so the CPU-time ratio (process CPU seconds of each training) is
printed too. Quality is the Spearman correlation on gensim's
bundled WordSim-353 and 3CosAdd accuracy on questions-words, computed with the
same gensim KeyedVectors code for both.

    PYTHONPATH=. python benchmarks/word2vec.py            # prints one JSON object
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def evaluate(keyed):
    from gensim.test.utils import datapath

    spearman = keyed.evaluate_word_pairs(datapath("wordsim353.tsv"))[1][0]
    analogy = keyed.evaluate_word_analogies(datapath("questions-words.txt"))[0]
    return float(spearman), float(analogy)


def main():
    from gensim.models import Word2Vec as GensimWord2Vec

    from dlkit.embeddings import read_corpus, train_word2vec

    hyper = dict(dim=100, window=5, negative=5, min_count=5, sample=1e-3, epochs=5)
    sentences = read_corpus("head500")
    corpus_words = sum(map(len, sentences))

    gensim = GensimWord2Vec(vector_size=hyper["dim"], window=hyper["window"], negative=hyper["negative"],
                            min_count=hyper["min_count"], sample=hyper["sample"], epochs=hyper["epochs"], sg=1,
                            workers=2, seed=0)
    gensim.build_vocab(sentences)
    start, cpu_start = time.perf_counter(), time.process_time()
    gensim.train(sentences, total_examples=len(sentences), epochs=hyper["epochs"])
    gensim_seconds = time.perf_counter() - start
    gensim_cpu_seconds = time.process_time() - cpu_start
    gensim_spearman, gensim_analogy = evaluate(gensim.wv)

    cpu_start = time.process_time()
    result = train_word2vec(sentences, **hyper, seed=0)
    # process_time also counts dlkit's vocabulary building (~0.3 s), which gensim did before.
    dlkit_cpu_seconds = time.process_time() - cpu_start
    dlkit_spearman, dlkit_analogy = evaluate(result.vectors.to_gensim())

    gensim_wps = corpus_words * hyper["epochs"] / gensim_seconds
    report = {
        "corpus": "head500",
        "corpus_words": corpus_words,
        "vocab_size": {"dlkit": len(result.vectors), "gensim": len(gensim.wv)},
        "hyper_parameters": hyper,
        "gensim_words_per_second": round(gensim_wps),
        "dlkit_words_per_second": round(result.words_per_second),
        "words_per_second_ratio": round(result.words_per_second / gensim_wps, 3),
        # Words per CPU-second: robust to other processes on a shared machine.
        "words_per_cpu_second_ratio": round(gensim_cpu_seconds / dlkit_cpu_seconds, 3),
        "gensim_cpu_seconds": round(gensim_cpu_seconds, 2),
        "dlkit_cpu_seconds": round(dlkit_cpu_seconds, 2),
        "gensim_seconds": round(gensim_seconds, 2),
        "dlkit_seconds": round(result.seconds, 2),
        "gensim_wordsim353_spearman": round(gensim_spearman, 4),
        "dlkit_wordsim353_spearman": round(dlkit_spearman, 4),
        "spearman_difference": round(dlkit_spearman - gensim_spearman, 4),
        "gensim_analogy_accuracy": round(gensim_analogy, 4),
        "dlkit_analogy_accuracy": round(dlkit_analogy, 4),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
