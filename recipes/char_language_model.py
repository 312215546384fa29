"""Character language model: a recurrent network reads text a character at a time, predicts the next, writes new text.

Trains ``dlkit.sequence.char_language_model`` (embedding -> GRU/LSTM/SimpleRNN
-> softmax over the characters) on windows of running text whose targets are the
inputs shifted by one character, with gradient clipping as the course notes
prescribe for recurrent networks. The text is cut into blocks of 10,000
characters: of every twenty, 18 train, one picks the best epoch and one is held out. On the
held-out text the recipe reports **bits per character** (the model's mean
``-log2 p(next character)``, states carried across the whole text) next to what
bzip2, xz and gzip need for the same text: a model that does not beat bzip2 has
learned less than a general-purpose compressor. Then it samples new text at
several temperatures with the stateful sampler (one compiled step per
character; temperature 0 is greedy decoding).

Corpora (all offline):

    head500        gensim's bundled first 2.3 MB of text8 (Wikipedia, lower case, stemmed) -- the default
    names          first names of ten Faker locales, one per line; the model invents new ones
    path/to.txt    any UTF-8 text file (at least a few thousand characters)

Commands:

    python recipes/char_language_model.py --quick                 # < 60 s on 2 CPU cores, below bzip2
    python recipes/char_language_model.py                         # head500, GRU 256, 15% or more below bzip2
    python recipes/char_language_model.py --corpus names --quick  # novel names
    python recipes/char_language_model.py --corpus my_book.txt --cell gru --units 256 --layers 2

Writes into --out (default runs/char_language_model-<timestamp>):

    model.keras        the language model (token ids in, next-character probabilities out)
    vocabulary.json    its characters (dlkit.sequence.CharVocabulary)
    run.json           what recipes/predict.py needs: python recipes/predict.py RUN "the king" --length 200
    samples.txt        text sampled at temperatures 0 (greedy), 0.5, 0.8 and 1.0 (new names in names mode)
    bits_per_char.png  held-out bits per character: the model against bzip2, xz and gzip
    surprise.png       a held-out passage, each character shaded by how surprised the model was
    curves.png, history.csv, config.json
    metrics.json       test/dev bits per character, the compressors' figures, ratio to bzip2, chars/s, train_seconds, total_seconds

References: T. Mikolov et al., "Recurrent Neural Network Based Language Model", 2010; A. Graves,
"Generating Sequences With Recurrent Neural Networks", 2013; A. Karpathy, "The Unreasonable
Effectiveness of Recurrent Neural Networks", 2015; R. Pascanu et al., "On the difficulty of training
recurrent neural networks", 2013 (gradient clipping).
"""

import sys

import numpy as np

from dlkit import cli
from dlkit.errors import ConfigError, DatasetError

CELLS = ("lstm", "gru", "simple")
TEMPERATURES = (0.0, 0.5, 0.8, 1.0)
#: Settings of the default run and of --quick (flags override them). --quick holds out the first 30,000
#: characters of the held-out split (the compressors are measured on the same characters).
DEFAULTS = {
    False: {"units": 256, "sequence_length": 100, "batch_size": 64, "epochs": 6, "learning_rate": 4e-3,
            "max_chars": None, "test_chars": None},
    True: {"units": 128, "sequence_length": 50, "batch_size": 64, "epochs": 3, "learning_rate": 1e-2,
           "max_chars": None, "test_chars": 30_000, "steps_per_epoch": 250},
}
NAMES_DEFAULTS = {
    False: {"units": 256, "sequence_length": 32, "batch_size": 64, "epochs": 30, "learning_rate": 4e-3,
            "max_chars": None, "test_chars": None},
    True: {"units": 128, "sequence_length": 32, "batch_size": 32, "epochs": 4, "learning_rate": 1e-2,
           "max_chars": None, "test_chars": None},
}


def parse_args(argv=None):
    parser = cli.recipe_parser("char_language_model", __doc__)
    parser.add_argument("--corpus", default="head500", help="head500, names, or a UTF-8 text file (default: head500)")
    parser.add_argument("--cell", default="gru", help=f"recurrent cell: {', '.join(CELLS)} (default: gru)")
    parser.add_argument("--units", type=cli.positive_int, default=None, help="state size per layer (default: 256)")
    parser.add_argument("--layers", type=cli.positive_int, default=1, help="stacked recurrent layers (default: 1)")
    parser.add_argument("--embedding-dim", type=cli.positive_int, default=32, help="character vector size")
    parser.add_argument("--dropout", type=cli.fraction, default=0.0, help="dropout after each recurrent layer")
    parser.add_argument("--sequence-length", type=cli.positive_int, default=None,
                        help="characters per training window, backpropagation through time (default: 100)")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=None,
                        help="Adam's first learning rate, cosine-decayed to 0 (default: 4e-3; --quick 1e-2)")
    parser.add_argument("--clipnorm", type=cli.positive_float, default=1.0,
                        help="clip each gradient to this L2 norm (default: 1.0)")
    parser.add_argument("--max-chars", type=cli.positive_int, default=None,
                        help="train on the first N characters of the training split (default: all)")
    parser.add_argument("--test-chars", type=cli.positive_int, default=None,
                        help="hold out the first N characters of the held-out split (--quick: 30000; default: all)")
    parser.add_argument("--prompt", default=None, help="text the samples start from (default: the test split's start)")
    parser.add_argument("--sample-length", type=cli.positive_int, default=400, help="characters per sample")
    args = parser.parse_args(argv)
    if args.cell not in CELLS:
        raise ConfigError(f"--cell must be one of {', '.join(CELLS)}. Received: --cell {args.cell}")
    return args


def main(argv=None):
    args = parse_args(argv)
    names_mode = args.corpus == "names"
    settings = dict((NAMES_DEFAULTS if names_mode else DEFAULTS)[args.quick])
    units = args.units or settings["units"]
    sequence_length = args.sequence_length or settings["sequence_length"]
    batch_size = args.batch_size or settings["batch_size"]
    epochs = args.epochs or settings["epochs"]
    max_chars = args.max_chars or settings["max_chars"]
    test_chars = args.test_chars or settings["test_chars"]
    learning_rate = args.learning_rate or settings["learning_rate"]

    # Read and check the text before the run folder is made: a wrong corpus is one line, not a half-made run.
    from dlkit.sequence.text import read_text_corpus, split_text

    text, names = read_text_corpus(args.corpus, args.seed)
    train_text, dev_text, test_text = split_text(text, names)
    if max_chars is not None:
        train_text = train_text[:max_chars]
    if test_chars is not None:
        test_text = test_text[:test_chars]
    for split, part in (("training", train_text), ("dev", dev_text), ("held-out", test_text)):
        if len(part) < sequence_length + 1:
            raise DatasetError(
                f"The corpus is too short: its {split} part has {len(part):,} characters, fewer than one "
                f"training window of {sequence_length + 1} (the split is 90/5/5%). Give a longer text or a "
                f"smaller --sequence-length. Received: --corpus {args.corpus}"
            )
    out = cli.start_run(args, "char_language_model")

    from dlkit import inference, training
    from dlkit.evaluation import plot_curves
    from dlkit.sequence import (CharVocabulary, bits_per_character, char_language_model,
                                compressor_bits_per_character, language_model_batches)
    from dlkit.sequence.plots import plot_bits_per_character, plot_surprise

    vocabulary = CharVocabulary.from_text(train_text)
    train_ids, dev_ids, test_ids = (vocabulary.encode(part) for part in (train_text, dev_text, test_text))
    print(f"{args.corpus}: {len(train_ids):,} training, {len(dev_ids):,} dev, {len(test_ids):,} held-out characters; "
          f"{vocabulary.size} ids", flush=True)

    train = language_model_batches(train_ids, sequence_length, batch_size, seed=args.seed)
    dev = language_model_batches(dev_ids, sequence_length, batch_size, shuffle=False)
    result = training.fit(
        lambda: char_language_model(vocabulary.size, embedding_dim=args.embedding_dim, units=units,
                                    num_layers=args.layers, cell=args.cell, dropout=args.dropout),
        train, dev, epochs=epochs, optimizer="adam", learning_rate=learning_rate, schedule="cosine",
        clipnorm=args.clipnorm, steps_per_epoch=settings.get("steps_per_epoch"), out=out, restore_best=True,
        keep_backup=True, strategy=args.strategy, mixed_precision=args.mixed_precision,
        **cli.progress_options(args),
    )
    model = result.model
    steps = settings.get("steps_per_epoch")
    chars_per_epoch = steps * batch_size * sequence_length if steps else len(train_ids)
    train_chars_per_second = (chars_per_epoch * result.epochs_run / result.seconds) if result.epochs_run else None
    # Every held-out character predicted once from all the text before it (states carried across windows).
    test_bpc = bits_per_character(model, test_ids)
    dev_bpc = bits_per_character(model, dev_ids)
    compressors = compressor_bits_per_character(test_text)
    print(f"held-out bits per character: model {test_bpc:.3f}, bzip2 {compressors['bzip2']:.3f}, "
          f"xz {compressors['xz']:.3f}, gzip {compressors['gzip']:.3f}", flush=True)

    inference.save_model(model, out / "model.keras")
    vocabulary.save(out / "vocabulary.json")
    prompt = args.prompt if args.prompt is not None else ("\n" if names_mode else default_prompt(test_text))
    inference.write_run(out, "language_model", "char_language_model", model="model.keras",
                        vocabulary="vocabulary.json", level="char", separator="\n" if names_mode else None,
                        temperature=0.8, length=args.sample_length, corpus=args.corpus)
    samples, novel = write_samples(out / "samples.txt", model, vocabulary, prompt, args, names)
    plot_curves({key: values for key, values in result.history.items() if "loss" in key}, out / "curves.png",
                title=f"char {args.cell.upper()} {units}: cross-entropy per character (nats)")
    plot_bits_per_character(out / "bits_per_char.png", test_bpc, compressors, args.corpus, len(test_text))
    plot_surprise(out / "surprise.png", model, vocabulary, test_text[:480])

    metrics = {
        "test_bits_per_char": test_bpc,
        "dev_bits_per_char": dev_bpc,
        "bzip2_bits_per_char": compressors["bzip2"],
        "xz_bits_per_char": compressors["xz"],
        "gzip_bits_per_char": compressors["gzip"],
        "ratio_to_bzip2": test_bpc / compressors["bzip2"],
        "below_bzip2_percent": 100.0 * (1.0 - test_bpc / compressors["bzip2"]),
        "train_chars": len(train_ids),
        "test_chars": len(test_ids),
        "vocabulary_size": vocabulary.size,
        "params": model.count_params(),
        "epochs": epochs,
        "best_epoch": int(np.argmin(result.history["val_loss"])) + 1 if result.history.get("val_loss") else None,
        "train_chars_per_second": train_chars_per_second,
        "greedy_sample": samples[0.0][:80],
        "train_seconds": round(result.seconds, 2),
    }
    if novel is not None:
        metrics["novel_name_fraction"] = novel
    return cli.finish_run(out, metrics, ["test_bits_per_char", "bzip2_bits_per_char", "ratio_to_bzip2", "train_seconds"],
                          "char_language_model")


def default_prompt(text, length=40):
    """The first whole words of ``text`` (a block may start mid-word), about ``length`` characters."""
    start = text.find(" ") + 1 if " " in text[:length] else 0
    end = text.rfind(" ", start, start + length) + 1
    return text[start:end] if end > start else text[start:start + length]


def write_samples(path, model, vocabulary, prompt, args, names):
    """Samples at each temperature into ``path``; returns ``({temperature: text}, novel name fraction or None)``."""
    from dlkit import inference
    from dlkit.sequence import sample

    samples = {temperature: vocabulary.decode(sample(model, vocabulary.encode(prompt), args.sample_length,
                                                     temperature=temperature, seed=args.seed))
               for temperature in TEMPERATURES}
    novel, known = None, set(names or ())
    if names is None:
        lines = [f"Prompt: {prompt!r}\n"]
    else:
        generated = [name for text in list(samples.values())[1:] for name in complete_lines(text)]
        novel = sum(name not in known for name in generated) / max(len(generated), 1)
        lines = [f"New names sampled after a newline; * marks a name that is in none of the {len(known):,} "
                 f"lists ({100 * novel:.0f}% of the {len(generated)} sampled at temperatures 0.5-1.0 are new).\n"]
    for temperature, text in samples.items():
        label = "greedy (temperature 0)" if temperature == 0 else f"temperature {temperature}"
        shown = prompt + text if names is None else ", ".join(
            name + ("" if name in known else " *") for name in complete_lines(text))
        lines += [f"--- {label}", shown, ""]
    inference.write_atomically(path, lambda temporary: temporary.write_text("\n".join(lines), encoding="utf-8"))
    return samples, novel


def complete_lines(text):
    """The non-empty lines of ``text`` that a newline ends (a sample's last line may be cut short)."""
    return [line for line in text.split("\n")[:-1] if line]




if __name__ == "__main__":
    sys.exit(cli.run(main))
