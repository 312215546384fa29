"""Sequence models: sampling speed against the keras.io loop, training throughput against plain keras.Sequential.

**(a) Sampling.** A character LSTM (``dlkit.sequence.char_language_model``, as
in keras.io's "Character-level text generation with LSTM": LSTM(128),
RMSprop(0.01)) is trained for a few seconds on a slice of gensim's bundled
``head500`` corpus. Three samplers then generate the same number of characters
(400) after the same 40-character prompt from that one model:

- ``dlkit.sequence.sample``: runs the prompt once, then carries the LSTM state
  and advances the cell one step per character, all in one compiled loop;
- ``dlkit.sequence.window_sample(compiled=True)``: re-feeds the whole growing
  sequence (prompt + everything generated so far) through a ``tf.function`` of
  the model for every character, drawing with the same rule and seeds as
  ``sample``, so both must give the same text for the same seed;
- the keras.io loop, written out below as the example writes it: for every
  character, ``model.predict(x, verbose=0)`` on the last 40 characters and
  keras.io's ``sample()`` (NumPy, ``np.random.multinomial``) on the
  probabilities. keras.io feeds one-hot vectors to an LSTM; this model looks ids
  up in an ``Embedding``, which is the same product as one-hot × matrix.

Every sampler runs once untimed (tracing, ``predict``'s function), then the
timed rounds rotate which sampler goes first (``benchmarks/timing.py``). A
ratio is the median of the per-round ratios (slow sampler's seconds /
``sample``'s seconds), on wall time and on this process's CPU time. Target: ``sample`` >= 50x faster.

**(b) Training throughput.** dlkit's builders against the same layers written
as a plain ``keras.Sequential`` (``Embedding -> LSTM/GRU(return_sequences) ->
Dense softmax``; ``Embedding(mask_zero) -> Bidirectional(GRU) -> Dense
softmax``), weights copied from the Sequential model (outputs compared), the
same optimizer, batches and loss, trained with ``train_on_batch`` in rounds
alternating which model goes first, as in ``benchmarks/models.py``. Figures
are tokens per second (language models: batch × sequence length; the
classifier: real characters, padding not counted); the ratio (dlkit /
Sequential) is the median of the per-round ratios, on wall and CPU
time. Same graphs should give ~1.0; the target is >= 0.95.

    python benchmarks/sequence.py               # CPU-size: ~5 min on 2 cores at load 4-7, less when idle
    python benchmarks/sequence.py --size gpu    # GPU-size: bigger units, batches, sequences and corpus

Prints one JSON object with the 1-minute load average before and after; it warns
when the load exceeded the core count (the figures are then not to be quoted).
"""

import argparse
import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import Session, interleave  # noqa: E402

from dlkit.sequence import (  # noqa: E402
    CharVocabulary,
    bits_per_character,
    char_language_model,
    compressor_bits_per_character,
    language_model_batches,
    sample,
    sequence_classifier,
    window_sample,
)
from dlkit.sequence.names import surnames_by_language  # noqa: E402

#: Settings per machine size. "cpu" finishes in a few minutes on 2 cores; "gpu" is for a GPU machine.
SIZES = {
    "cpu": {"corpus_characters": 300_000, "units": 128, "embedding_dim": 32, "sequence_length": 100,
            "batch_size": 64, "train_steps": 120, "characters": 400, "sampling_rounds": 2, "classifier_units": 64,
            "classifier_batch_size": 256, "steps": 8, "rounds": 8},
    "gpu": {"corpus_characters": None, "units": 1024, "embedding_dim": 64, "sequence_length": 200,
            "batch_size": 256, "train_steps": 600, "characters": 400, "sampling_rounds": 6, "classifier_units": 256,
            "classifier_batch_size": 1024, "steps": 16, "rounds": 8},
}
PROMPT_LENGTH = 40  # keras.io's maxlen: the window it re-encodes for every character
TEMPERATURE = 0.5  # one of keras.io's "diversity" values
CLASSIFIER_LENGTH = 20  # surnames right-padded (or cut) to 20 characters; 99% are shorter


def timed(function, *args):
    """Runs ``function(*args)``; returns (its result, wall seconds, CPU seconds of this process)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - started, time.process_time() - started_cpu


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------

def load_corpus(characters):
    """The first ``characters`` of gensim's head500 (all of it for ``None``), and the 20k characters after them."""
    from gensim.test.utils import datapath

    with open(datapath("head500.noblanks.cor"), encoding="utf-8") as file:
        text = file.read().replace("\n", " ")
    end = len(text) - 20_000 if characters is None else min(characters, len(text) - 20_000)
    return text[:end], text[end:end + 20_000]


# ---------------------------------------------------------------------------------------------------------------
# (a) Sampling
# ---------------------------------------------------------------------------------------------------------------

def train_char_model(vocabulary, train_ids, settings):
    """A char_language_model trained briefly with keras.io's optimizer (RMSprop, learning rate 0.01)."""
    keras.utils.set_random_seed(0)
    model = char_language_model(vocabulary.size, embedding_dim=settings["embedding_dim"], units=settings["units"])
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy")
    batches = language_model_batches(train_ids, settings["sequence_length"], settings["batch_size"]).repeat()
    _, seconds, _ = timed(lambda: model.fit(batches, epochs=1, steps_per_epoch=settings["train_steps"], verbose=0))
    return model, seconds


def keras_io_draw(preds, temperature, rng):
    """keras.io's ``sample(preds, temperature)``, word for word (with a Generator instead of np.random)."""
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = rng.multinomial(1, preds, 1)
    return np.argmax(probas)


def keras_io_sample(model, prompt, length, temperature, seed):
    """keras.io's generation loop: ``model.predict`` on the last 40 characters for every new character."""
    rng = np.random.default_rng(seed)
    sentence = list(prompt)
    generated = []
    for _ in range(length):
        x_pred = np.asarray([sentence[-PROMPT_LENGTH:]], dtype="int32")  # keras.io: one-hot (1, 40, chars)
        preds = model.predict(x_pred, verbose=0)[0, -1]  # keras.io's model outputs the last step only
        next_index = int(keras_io_draw(preds, temperature, rng))
        sentence.append(next_index)
        generated.append(next_index)
    return generated


def compare_samplers(model, prompt, length, rounds):
    """Times the three samplers in rotating order; returns the figures and the same-text check."""
    samplers = {
        "dlkit_sample": lambda seed, length: sample(model, prompt, length, temperature=TEMPERATURE, seed=seed),
        "window_sample_compiled": lambda seed, length: window_sample(model, prompt, length, temperature=TEMPERATURE,
                                                                     seed=seed, compiled=True),
        "keras_io_predict_loop": lambda seed, length: keras_io_sample(model, prompt, length, TEMPERATURE, seed),
    }
    for run in samplers.values():
        # Warm-up, not timed: tracing (window_sample's function is traced again for a second length, then serves
        # every length; sample's length is a tensor) and the building of predict's function.
        run(1000, 3)
    texts = {name: [] for name in samplers}

    def timed_call(name):
        def call():  # round r of every sampler draws with seed r
            texts[name].append(samplers[name](len(texts[name]), length))
        return call

    measured = interleave({name: timed_call(name) for name in samplers}, rounds=rounds, warmup=0)
    names = list(samplers)
    same = [ours == theirs for ours, theirs in zip(texts["dlkit_sample"], texts["window_sample_compiled"])]
    first_differences = [next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), length)
                         for ours, theirs in zip(texts["dlkit_sample"], texts["window_sample_compiled"])]
    figures = {f"{name}_seconds": round(measured.median_seconds(name), 4) for name in names}
    figures.update({f"{name}_characters_per_second": round(length / measured.median_seconds(name), 1)
                    for name in names})
    for slow in names[1:]:
        figures[f"speedup_vs_{slow}"] = round(measured.speed_ratio("dlkit_sample", slow), 1)
        figures[f"speedup_vs_{slow}_per_round"] = [round(theirs / ours, 1) for ours, theirs
                                                   in zip(measured.wall["dlkit_sample"], measured.wall[slow])]
        figures[f"cpu_speedup_vs_{slow}"] = round(measured.speed_ratio("dlkit_sample", slow, "cpu"), 1)
    figures["sample_equals_window_sample_rounds"] = f"{sum(same)}/{len(same)}"
    figures["sample_equals_window_sample_first_difference"] = first_differences
    return figures, texts["dlkit_sample"][0]


def sampling_benchmark(settings):
    train_text, held_out_text = load_corpus(settings["corpus_characters"])
    vocabulary = CharVocabulary.from_text(train_text)
    model, train_seconds = train_char_model(vocabulary, vocabulary.encode(train_text), settings)
    prompt = vocabulary.encode(held_out_text[:PROMPT_LENGTH])
    figures, first_text = compare_samplers(model, prompt, settings["characters"], settings["sampling_rounds"])
    held_out = held_out_text[PROMPT_LENGTH:]
    return {
        "corpus_characters": len(train_text),
        "vocabulary_size": vocabulary.size,
        "params": model.count_params(),
        "train_steps": settings["train_steps"],
        "train_seconds": round(train_seconds, 1),
        # Evidence that the model learned something: bits per character on held-out text vs bzip2's.
        "held_out_bits_per_character": round(bits_per_character(model, vocabulary.encode(held_out)), 3),
        "held_out_bzip2_bits_per_character": round(compressor_bits_per_character(held_out)["bzip2"], 3),
        "characters": settings["characters"],
        "prompt": held_out_text[:PROMPT_LENGTH],
        "temperature": TEMPERATURE,
        "rounds": settings["sampling_rounds"],
        **figures,
        "sample_text_seed_0": vocabulary.decode(first_text)[:160],
    }


# ---------------------------------------------------------------------------------------------------------------
# (b) Training throughput
# ---------------------------------------------------------------------------------------------------------------

def plain_language_model(vocabulary_size, embedding_dim, units, cell):
    """The keras.io way: the same layers as dlkit's char_language_model, in a keras.Sequential."""
    recurrent = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, embedding_dim),
        recurrent(units, return_sequences=True),
        keras.layers.Dense(vocabulary_size, activation="softmax"),
    ])


def plain_classifier(vocabulary_size, num_classes, embedding_dim, units):
    """The same layers as dlkit's sequence_classifier (bidirectional GRU, masked padding), in a keras.Sequential."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.GRU(units)),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


def language_model_data(settings, count=4):
    """``count`` fixed (inputs, targets) batches of the corpus, and the tokens in each batch."""
    text, _ = load_corpus(settings["corpus_characters"])
    vocabulary = CharVocabulary.from_text(text)
    dataset = language_model_batches(vocabulary.encode(text), settings["sequence_length"], settings["batch_size"])
    batches = [(inputs.numpy(), targets.numpy()) for inputs, targets in dataset.take(count)]
    return vocabulary.size, batches, [inputs.size for inputs, _ in batches]


def surname_data(settings, count=4):
    """``count`` fixed batches of surnames (ids right-padded to 20) with their language, and their real characters."""
    by_language = surnames_by_language()
    names = [name for names in by_language.values() for name in names]
    labels = np.concatenate([np.full(len(names), index) for index, names in enumerate(by_language.values())])
    vocabulary = CharVocabulary.from_text("".join(names))
    order = np.random.default_rng(0).permutation(len(names))
    batch_size = settings["classifier_batch_size"]
    batches = []
    for start in range(0, count * batch_size, batch_size):
        picked = order[start % len(names):][:batch_size]
        ids = keras.utils.pad_sequences([vocabulary.encode(names[i]) for i in picked], maxlen=CLASSIFIER_LENGTH,
                                        padding="post", truncating="post")
        batches.append((ids.astype("int32"), labels[picked].astype("int32")))
    return vocabulary.size, len(by_language), batches, [int(np.count_nonzero(ids)) for ids, _ in batches]


def train_steps(model, batches, steps):
    """``steps`` training steps over ``batches``; returns once the last one has finished."""
    for step in range(steps):
        inputs, targets = batches[step % len(batches)]
        loss = model.train_on_batch(inputs, targets)
    return float(np.asarray(loss))  # train_on_batch returns NumPy: the last step has finished


def compare_training(ours, theirs, batches, tokens, settings):
    """Throughput of one dlkit/Sequential pair with the same weights, optimizer and batches."""
    ours.set_weights(theirs.get_weights())
    probe = batches[0][0][:8]
    difference = float(np.max(np.abs(ours.predict(probe, verbose=0) - theirs.predict(probe, verbose=0))))
    models = {"dlkit": ours, "sequential": theirs}
    for model in models.values():
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        train_steps(model, batches, 2)  # warm-up: tracing
    steps = settings["steps"]
    count = sum(tokens[step % len(batches)] for step in range(steps))
    measured = interleave({key: functools.partial(train_steps, model, batches, steps) for key, model in models.items()},
                       rounds=settings["rounds"], warmup=0, work={key: count for key in models})
    return {
        "params": ours.count_params(),
        "same_params": ours.count_params() == theirs.count_params(),
        "max_output_difference": difference,
        "jit_compile": bool(ours.jit_compile),  # compile()'s "auto": XLA on a GPU, not on a CPU
        "dlkit_tokens_per_second": round(measured.rate("dlkit")),
        "sequential_tokens_per_second": round(measured.rate("sequential")),
        "ratio": measured.speed_ratio("dlkit", "sequential"),
        "ratio_per_round": [round(b / a, 3) for a, b in zip(measured.wall["dlkit"], measured.wall["sequential"])],
        "cpu_ratio": measured.speed_ratio("dlkit", "sequential", "cpu"),
    }


def training_benchmark(settings):
    vocabulary_size, batches, tokens = language_model_data(settings)
    results = {}
    for cell in ("lstm", "gru"):
        keras.utils.set_random_seed(0)
        theirs = plain_language_model(vocabulary_size, settings["embedding_dim"], settings["units"], cell)
        ours = char_language_model(vocabulary_size, embedding_dim=settings["embedding_dim"],
                                   units=settings["units"], cell=cell)
        results[f"char_language_model_{cell}"] = compare_training(ours, theirs, batches, tokens, settings)
    vocabulary_size, num_classes, batches, tokens = surname_data(settings)
    keras.utils.set_random_seed(0)
    theirs = plain_classifier(vocabulary_size, num_classes, 64, settings["classifier_units"])
    ours = sequence_classifier(vocabulary_size, num_classes, embedding_dim=64, units=settings["classifier_units"],
                               cell="gru", bidirectional=True)
    results["sequence_classifier_bidirectional_gru"] = compare_training(ours, theirs, batches, tokens, settings)
    return results


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="cpu", help="settings for a CPU or a GPU machine")
    parser.add_argument("--gpu", dest="size", action="store_const", const="gpu", help="same as --size gpu")
    parser.add_argument("--rounds", type=int, help="timed training rounds per model pair")
    parser.add_argument("--sampling-rounds", type=int, help="timed rounds of the three samplers")
    parser.add_argument("--characters", type=int, help="characters generated per sampler call")
    parser.add_argument("--skip", choices=["sampling", "training"], help="leave out one part")
    args = parser.parse_args(argv)
    settings = dict(SIZES[args.size])
    settings.update({key: value for key, value in vars(args).items() if key in settings and value is not None})
    if settings["rounds"] < 2:
        parser.error(f"--rounds must be >= 2 (pairs alternate order). Received: --rounds {settings['rounds']}")

    session = Session("sequence models: sampling vs the keras.io loop, training throughput vs keras.Sequential",
                      {"size": args.size, **settings,
                       "devices": [device.device_type for device in tf.config.list_logical_devices()]})
    report = {"targets": {"sampling_speedup": 50, "training_ratio": 0.95}}
    if args.skip != "sampling":
        report["sampling"] = sampling_benchmark(settings)
    if args.skip != "training":
        report["training"] = training_benchmark(settings)
        report["min_training_ratio"] = min(result["ratio"] for result in report["training"].values())
        report["min_training_cpu_ratio"] = min(result["cpu_ratio"] for result in report["training"].values())
    return session.finish(report)


if __name__ == "__main__":
    main()
