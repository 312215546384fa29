"""``train_word2vec``: vocabulary, sampling pipeline, sparse SGD with word2vec's learning-rate decay."""

import concurrent.futures
import dataclasses
import pathlib
import shutil
import time

import numpy as np
import tensorflow as tf

from dlkit import files
from dlkit import progress as progress_display
from dlkit.embeddings.corpus import read_corpus
from dlkit.embeddings.model import NegativeSamplingLoss, Word2Vec
from dlkit.embeddings.sampling import NegativeSampler, epoch_skipgram_pairs, make_chunks
from dlkit.embeddings.vectors import WordVectors
from dlkit.embeddings.vocabulary import Vocabulary
from dlkit.errors import ConfigError, DatasetError, TrainingError


@dataclasses.dataclass
class Word2VecResult:
    """What ``train_word2vec`` returns.

    Attributes:
        vectors: the trained ``WordVectors``.
        model: the ``Word2Vec`` Keras model (both tables).
        vocabulary: the ``Vocabulary``.
        train_words: corpus tokens x epochs (gensim's raw word count).
        seconds: wall time of the training loop (vocabulary building excluded).
        words_per_second: ``train_words / seconds``.
        examples: training pairs (skip-gram) or windows (CBOW) seen.
        losses: mean loss per pair of each epoch.
        initial_epoch: the epoch this call started at (> 0 after a resume).
    """

    vectors: WordVectors
    model: Word2Vec
    vocabulary: Vocabulary
    train_words: int
    seconds: float
    words_per_second: float
    examples: int
    losses: list
    initial_epoch: int = 0


#: The smallest vocabulary worth training on (neighbours, a t-SNE picture and negatives need some words).
MIN_VOCABULARY = 10

#: Ways to draw negatives: per batch, shared by all its pairs (fast), or per pair (word2vec's).
NEGATIVE_MODES = ("shared", "exact")

#: Pairs that share one draw of negatives: a drawn negative's row gets the summed update of this many pairs (with
#: 4096 the rows of frequent negatives diverge at alpha 0.025; batches of 4096 in groups of 1024 train as well as
#: batches of 1024 and take half the time: fewer compiled steps).
SHARED_GROUP_PAIRS = 1024

#: Pairs per graph call of the shared-negatives path (about the pairs of the exact path's 64k-token chunks;
#: progress, callbacks and the "batch" failpoint come between calls).
SHARED_CHUNK_PAIRS = 1 << 18


def train_word2vec(corpus, dim=100, window=5, negative=5, min_count=5, sample=1e-3, epochs=5, *,
                   architecture="skipgram", alpha=0.025, min_alpha=1e-4, batch_size=None, max_vocab_size=None,
                   ns_exponent=0.75, seed=0, shrink_windows=True, jit_compile=True, negatives=None, backup=None,
                   keep_backup=False, verbose=0, callbacks=None, tensorboard=None):
    """Trains word2vec with negative sampling.

    Plain SGD on the summed sigmoid negative-sampling loss of a batch of pairs;
    the learning rate decays linearly from ``alpha`` to ``min_alpha`` with the
    fraction of tokens processed, as in word2vec and gensim. Only the rows a
    batch touches are updated (a scatter), so a step costs O(batch), not
    O(vocabulary).

    Two ways to draw negatives (``negatives``):

    - ``"shared"`` (skip-gram's default): each group of
      :data:`SHARED_GROUP_PAIRS` pairs of a batch draws ``negative`` words once
      and every pair of the group uses them, as BlazingText does. The negative
      term is one dense ``[B, dim] x [dim, negative]`` product per group and
      the negatives' update one ``[negative, B] x [B, dim]`` product instead of
      ``B * negative`` gathered and scattered rows; the pairs of an epoch are
      made at once in vectorized NumPy (``epoch_skipgram_pairs``), the next
      epoch's while this one trains. Each pair still sees ``negative``
      negatives from ``counts ** ns_exponent``; they are just not independent
      between pairs of a batch.
    - ``"exact"``: per-pair negatives, as word2vec and gensim; pairs, negatives
      and subsampling come from the ``tf.data`` pipeline of ``make_chunks``.
      CBOW always trains this way.

    References: Mikolov et al. 2013, "Distributed Representations of Words and
    Phrases and their Compositionality" (NIPS); Gupta & Khare 2017,
    "BlazingText: Scaling and Accelerating Word2Vec using Multiple GPUs" (MLHPC).

    Args:
        corpus: a list of token lists, or a corpus name/path for ``read_corpus``.
        dim: vector size.
        window: maximum window (an effective window in ``[1, window]`` is drawn per center).
        negative: negatives per pair.
        min_count: words seen fewer times are dropped.
        sample: frequent-word subsampling threshold (0: none).
        epochs: passes over the corpus.
        architecture: ``"skipgram"`` (gensim ``sg=1``) or ``"cbow"``.
        alpha: initial learning rate.
        min_alpha: final learning rate.
        batch_size: pairs per SGD step; ``None``: 4096 (on CPU ~2-4k is fastest: the rows a step touches
            stay in cache). With shared negatives the batch is split into groups of
            :data:`SHARED_GROUP_PAIRS` pairs, each with its own draw (:func:`negative_groups`).
        max_vocab_size: keep only this many most frequent words.
        ns_exponent: exponent of the negative-sampling distribution.
        seed: seed of every random draw (initialization and sampling).
        shrink_windows: draw effective windows (word2vec) or use ``window`` everywhere.
        jit_compile: compile the SGD step with XLA (faster on CPU).
        negatives: ``"shared"`` or ``"exact"`` (above); ``None``: ``"shared"``
            for skip-gram, ``"exact"`` for CBOW.
        backup: a folder for the resume state, written after every epoch (both
            tables, the epoch, the losses, the settings): a call with the same
            ``backup`` and settings resumes at the epoch where an interrupted
            one stopped, with the draws an uninterrupted run makes there.
            ``None``: no backup.
        keep_backup: keep the state after training, marked finished (a rerun
            then skips training); ``False`` removes it.
        verbose: progress (:mod:`dlkit.progress`): 0 none, 1 Keras's progress
            bar over the words of all epochs, 2 a line at least every
            ``HEARTBEAT_SECONDS`` and one per epoch; ``"auto"`` picks 1 or 2.
        callbacks: Keras callbacks; ``on_train_batch_end(chunk, logs)`` is
            called after each chunk of batches, ``batch`` being the words
            processed (of all epochs) minus one and ``logs`` ``{"loss": mean
            loss per pair so far this epoch}``; ``on_epoch_end(epoch, logs)``
            with ``{"loss": the epoch's}``.
        tensorboard: a folder for TensorBoard logs (the loss per chunk, at the
            words processed, and per epoch), or ``None``/``False``.

    Returns:
        A ``Word2VecResult``.

    Raises:
        DatasetError: empty corpus, or fewer than :data:`MIN_VOCABULARY` words
            reach ``min_count``.
        ConfigError: a hyper-parameter out of range, ``negatives="shared"`` with
            CBOW, or ``backup`` holds a run with other settings.
    """
    if negatives is None:
        negatives = "shared" if architecture == "skipgram" else "exact"
    if negatives not in NEGATIVE_MODES:
        raise ConfigError(f"negatives must be one of {NEGATIVE_MODES}. Received: negatives={negatives!r}")
    if negatives == "shared" and architecture != "skipgram":
        raise ConfigError(f"Shared negatives train skip-gram only; use negatives='exact' for CBOW. "
                          f"Received: negatives={negatives!r}, architecture={architecture!r}")
    if batch_size is None:
        batch_size = 4096
    for name, value in (("dim", dim), ("window", window), ("negative", negative), ("epochs", epochs),
                        ("batch_size", batch_size)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1. Received: {name}={value}")
    if not 0 < alpha or not 0 <= min_alpha <= alpha:
        raise ConfigError(f"Need 0 <= min_alpha <= alpha and alpha > 0. Received: alpha={alpha}, min_alpha={min_alpha}")
    sentences = read_corpus(corpus) if isinstance(corpus, str) else corpus
    vocabulary = Vocabulary.build(sentences, min_count=min_count, max_size=max_vocab_size)
    if len(vocabulary) < MIN_VOCABULARY:
        raise DatasetError(
            f"Only {len(vocabulary)} distinct word(s) occur at least min_count={min_count} times; word2vec needs "
            f"{MIN_VOCABULARY} or more. Give more text or lower --min-count. "
            f"Received: vocabulary {vocabulary.words[:10]}"
        )
    ids, sentence_ids = vocabulary.encode(sentences)
    sampler = NegativeSampler(vocabulary.counts, ns_exponent)

    model = Word2Vec(len(vocabulary), dim, architecture, seed=seed)
    model.build()
    settings = dict(dim=dim, window=window, negative=negative, min_count=min_count, sample=sample, epochs=epochs,
                    architecture=architecture, alpha=alpha, min_alpha=min_alpha, batch_size=batch_size,
                    max_vocab_size=max_vocab_size, ns_exponent=ns_exponent, seed=seed, shrink_windows=shrink_windows,
                    vocabulary=len(vocabulary), tokens=int(vocabulary.total_words))
    if negatives == "shared":
        # Keyed only when not the default, so backups of earlier exact runs still resume.
        settings["negatives"] = negatives
    first_epoch, losses = _restore(model, backup, settings)
    if negatives == "shared":
        return _train_shared(model, vocabulary, ids, sentence_ids, sampler, settings, first_epoch, losses,
                             jit_compile=jit_compile, backup=backup, keep_backup=keep_backup,
                             report=_Report(callbacks, vocabulary.total_words * epochs, verbose, tensorboard))
    chunks = make_chunks(
        ids, sentence_ids, vocabulary.keep_probabilities(sample), sampler, window=window, negative=negative,
        epochs=epochs, architecture=architecture, seed=seed, shrink=shrink_windows, first_epoch=first_epoch,
    )
    step = sparse_sgd_step(model, alpha, min_alpha, jit_compile=jit_compile)
    width = 2 * window if architecture == "cbow" else None

    @tf.function(input_signature=[
        tf.TensorSpec([None] if width is None else [None, width], tf.int32),
        tf.TensorSpec([None, negative + 1], tf.int32),
        tf.TensorSpec([None, negative + 1], tf.float32),
        tf.TensorSpec([None], tf.float32),
    ])
    def train_chunk(inputs, candidates, weights, progress):
        # Padding to whole batches keeps one static shape for the compiled step;
        # padded rows have weight 0, so their gradient is 0.
        count = tf.shape(candidates)[0]
        pad = (batch_size - count % batch_size) % batch_size
        inputs = tf.pad(inputs, [[0, pad]] + [[0, 0]] * (len(inputs.shape) - 1))
        candidates = tf.pad(candidates, [[0, pad], [0, 0]])
        weights = tf.pad(weights, [[0, pad], [0, 0]])
        progress = tf.pad(progress, [[0, pad]], constant_values=1.0)
        total = tf.constant(0.0, tf.float64)
        # The loop over batches runs in the graph: no Python between SGD steps.
        for start in tf.range(0, count + pad, batch_size):
            end = start + batch_size
            loss = step(inputs[start:end], candidates[start:end], weights[start:end], progress[start])
            total += tf.cast(loss, tf.float64)
        return total

    train_words = vocabulary.total_words * epochs
    epoch_loss, epoch_examples, examples = 0.0, 0, 0
    last_epoch = first_epoch
    start = time.perf_counter()
    chunk_iterator = iter(chunks)  # starts making the first chunks in the background
    # Compile the step while the first chunk is being made (a zero-weight batch changes nothing).
    shape = [batch_size] if width is None else [batch_size, width]
    train_chunk(tf.zeros(shape, tf.int32), tf.zeros([batch_size, negative + 1], tf.int32),
                tf.zeros([batch_size, negative + 1]), tf.zeros([batch_size]))
    # Progress is counted in words of all epochs, as the learning rate decays: a chunk's `progress` is the
    # fraction of train_words processed before its first pair.
    report = _Report(callbacks, train_words, verbose, tensorboard)
    report.begin()
    for inputs, candidates, weights, progress in chunk_iterator:
        count = int(candidates.shape[0])
        if count == 0:
            continue
        # A chunk's first progress is exactly epoch/epochs up to float32 rounding.
        epoch = min(int(float(progress[0]) * epochs + 1e-4), epochs - 1)
        if epoch != last_epoch:
            losses.append(epoch_loss / max(epoch_examples, 1))
            report.epoch_end(last_epoch, losses[-1])
            _save(model, backup, settings, last_epoch + 1, losses, finished=False)
            epoch_loss, epoch_examples, last_epoch = 0.0, 0, epoch
        epoch_loss += float(train_chunk(inputs, candidates, weights, progress))
        files.failpoint("batch")  # a chunk of batches
        epoch_examples += count
        examples += count
        report.chunk_end(float(progress[-1]), epoch_loss / epoch_examples)
    seconds = time.perf_counter() - start
    if first_epoch < epochs:
        losses.append(epoch_loss / max(epoch_examples, 1))
        report.epoch_end(last_epoch, losses[-1])
    report.end()
    return _finish(model, vocabulary, backup, keep_backup, settings, first_epoch, losses, train_words, seconds,
                   examples)


def _train_shared(model, vocabulary, ids, sentence_ids, sampler, settings, first_epoch, losses, *, jit_compile,
                  backup, keep_backup, report):
    """``train_word2vec`` with shared negatives: NumPy pairs per epoch, a compiled loop over batches."""
    epochs, batch_size, negative = settings["epochs"], settings["batch_size"], settings["negative"]
    keep = vocabulary.keep_probabilities(settings["sample"])
    train_words = vocabulary.total_words * epochs
    chunk = max(1, SHARED_CHUNK_PAIRS // batch_size)  # batches per call
    groups = negative_groups(batch_size)
    step = shared_negatives_step(model, jit_compile=jit_compile)

    def make_epoch(epoch):
        # One generator per epoch: a resumed run makes the epochs an uninterrupted one makes.
        rng = np.random.default_rng([settings["seed"], epoch])
        centers, contexts = epoch_skipgram_pairs(ids, sentence_ids, keep, settings["window"], rng,
                                                 shrink=settings["shrink_windows"])
        count = len(centers)
        batches = -(-count // batch_size)
        size = batches * batch_size  # padded to whole batches: one static shape, padding has weight 0
        padded = [np.zeros(size, np.int32), np.zeros(size, np.int32), np.zeros(size, np.float32)]
        padded[0][:count], padded[1][:count], padded[2][:count] = centers, contexts, 1.0
        centers, contexts, weights = (array.reshape(batches, batch_size) for array in padded)
        negatives = sampler.sample_numpy((batches, groups, negative), rng)
        # The learning rate decays with the fraction of all epochs' words processed before each batch.
        done = (epoch + np.arange(batches) * batch_size / max(count, 1)) / epochs
        rates = (settings["alpha"] - (settings["alpha"] - settings["min_alpha"]) * done).astype(np.float32)
        return count, centers, contexts, weights, negatives, rates

    start = time.perf_counter()
    examples = 0
    report.begin()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        upcoming = pool.submit(make_epoch, first_epoch) if first_epoch < epochs else None
        # Compile while the first epoch's pairs are being made (zero weights and rates change nothing).
        step(*(np.zeros([1, batch_size], dtype) for dtype in (np.int32, np.int32, np.float32)),
             np.zeros([1, groups, negative], np.int32), np.zeros([1], np.float32))
        for epoch in range(first_epoch, epochs):
            count, centers, contexts, weights, negatives, rates = upcoming.result()
            # The next epoch's pairs are made while this one trains (NumPy and XLA both release the GIL).
            upcoming = pool.submit(make_epoch, epoch + 1) if epoch + 1 < epochs else None
            epoch_loss = 0.0
            for first in range(0, len(rates), chunk):
                calls = slice(first, first + chunk)
                epoch_loss += float(step(centers[calls], contexts[calls], weights[calls], negatives[calls],
                                         rates[calls]))
                files.failpoint("batch")  # a chunk of batches
                seen = min((first + chunk) * batch_size, count)
                report.chunk_end(float(epoch + seen / max(count, 1)) / epochs, epoch_loss / max(seen, 1))
            examples += count
            losses.append(epoch_loss / max(count, 1))
            report.epoch_end(epoch, losses[-1])
            if epoch + 1 < epochs:
                _save(model, backup, settings, epoch + 1, losses, finished=False)
    seconds = time.perf_counter() - start
    report.end()
    return _finish(model, vocabulary, backup, keep_backup, settings, first_epoch, losses, train_words, seconds,
                   examples)


def negative_groups(batch_size):
    """How many groups of pairs a batch of ``batch_size`` pairs has, each with its own shared negatives.

    ``batch_size // SHARED_GROUP_PAIRS`` when that divides the batch evenly, else 1 (the whole batch shares one draw).
    """
    groups = max(1, batch_size // SHARED_GROUP_PAIRS)
    return groups if batch_size % groups == 0 else 1


def shared_negatives_step(model, jit_compile=True):
    """Plain-SGD steps of skip-gram over a chunk of batches, each group of a batch sharing its negatives.

    A batch of pairs is split into ``G`` equal groups (:func:`negative_groups`),
    each with its own ``K`` negatives. For a group of ``B`` (center, context)
    pairs, with
    ``h`` the centers' rows of the target table, ``u`` the contexts' and ``n``
    the negatives' rows of the context table, the loss is
    ``sum_b softplus(-h_b.u_b) + sum_{b,k} softplus(h_b.n_k)`` (a negative
    equal to the pair's context is dropped) and its gradients are written out:
    ``dh = g_pos u + G n``, ``du = g_pos h``, ``dn = G^T h`` with
    ``G = sigmoid(h n^T)``: two dense products instead of ``B * K`` gathered
    and scattered rows. Each batch's update is applied before the next batch
    (a ``scatter_sub`` per table), as in ``sparse_sgd_step``.

    Reference: Gupta & Khare 2017, "BlazingText: Scaling and Accelerating
    Word2Vec using Multiple GPUs" (MLHPC), sections 3-4.

    Args:
        model: a built skip-gram ``Word2Vec``.
        jit_compile: compile with XLA (the loop over the chunk's batches included).

    Returns:
        A ``tf.function`` ``step(centers, contexts, weights, negatives, rates) -> summed loss``
        with int32 centers/contexts and float32 weights [C, B], int32
        negatives [C, G, K] and float32 learning rates [C].
    """
    target, context = model.target.embeddings.value, model.context.embeddings.value

    def batch_step(centers, contexts, weights, negatives, rate):
        groups = tf.shape(negatives)[0]  # each group of B / G pairs shares its own K negatives
        dim = tf.shape(target)[1]
        h, u = tf.gather(target, centers), tf.gather(context, contexts)
        n = tf.gather(context, negatives)  # [G, K, dim]
        grouped_h = tf.reshape(h, [groups, -1, dim])
        positive = tf.reduce_sum(h * u, axis=1)
        negative = tf.einsum("gbd,gkd->gbk", grouped_h, n)
        hits = tf.not_equal(negatives[:, None, :], tf.reshape(contexts, [groups, -1])[:, :, None])
        mask = tf.reshape(weights, [groups, -1])[:, :, None] * tf.cast(hits, tf.float32)
        loss = tf.reduce_sum(tf.nn.softplus(-positive) * weights) + tf.reduce_sum(tf.nn.softplus(negative) * mask)
        positive_gradient = (tf.sigmoid(positive) - 1.0) * weights * rate
        negative_gradient = tf.sigmoid(negative) * mask * rate
        center_rows = positive_gradient[:, None] * u + tf.reshape(tf.einsum("gbk,gkd->gbd", negative_gradient, n),
                                                                  tf.shape(h))
        target.scatter_sub(tf.IndexedSlices(center_rows, centers))
        negative_rows = tf.reshape(tf.einsum("gbk,gbd->gkd", negative_gradient, grouped_h), [-1, dim])
        context_rows = tf.concat([positive_gradient[:, None] * h, negative_rows], axis=0)
        context.scatter_sub(tf.IndexedSlices(context_rows, tf.concat([contexts, tf.reshape(negatives, [-1])], axis=0)))
        return loss

    batch_step = tf.function(batch_step, jit_compile=jit_compile)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32),
                                  tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None, None, None], tf.int32),
                                  tf.TensorSpec([None], tf.float32)])
    def step(centers, contexts, weights, negatives, rates):
        total = tf.constant(0.0)
        # The loop runs in the graph, the compiled step inside it: one batch shape to compile (compiling a
        # chunk of unrolled batches took seconds; XLA's own while loop over the updated tables was far slower).
        for index in tf.range(tf.shape(rates)[0]):
            total += batch_step(centers[index], contexts[index], weights[index], negatives[index], rates[index])
        return total

    return step


def _finish(model, vocabulary, backup, keep_backup, settings, first_epoch, losses, train_words, seconds, examples):
    """Checks the losses, writes the final state, removes the backup, and makes the result."""
    epochs = settings["epochs"]
    if not np.all(np.isfinite(losses)):
        hint = " or use negatives='exact'" if settings.get("negatives") == "shared" else ""
        raise TrainingError(f"word2vec loss is not finite; lower alpha or batch_size{hint}. Received: losses={losses}")
    if first_epoch < epochs:
        _save(model, backup, settings, epochs, losses, finished=True)
    if backup is not None and not keep_backup:
        shutil.rmtree(backup, ignore_errors=True)
    vectors = WordVectors(vocabulary.words, model.word_vectors, counts=vocabulary.counts)
    words_this_call = vocabulary.total_words * (epochs - first_epoch)
    return Word2VecResult(
        vectors=vectors, model=model, vocabulary=vocabulary, train_words=int(train_words), seconds=seconds,
        words_per_second=words_this_call / max(seconds, 1e-9), examples=examples, losses=losses,
        initial_epoch=first_epoch,
    )


def _restore(model, backup, settings):
    """Loads an interrupted run's tables from ``backup``; returns ``(first epoch, losses so far)``."""
    state = files.read_state(backup) if backup is not None else None
    if state is None:
        return 0, []
    saved = state.get("settings", {})
    changed = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if changed:
        raise ConfigError(
            f"{backup} holds an interrupted word2vec run with "
            f"{', '.join(f'{key}={saved.get(key)!r}' for key in changed)}; rerun with those settings to resume it, "
            f"or delete {backup} to start afresh. Received: "
            f"{', '.join(f'{key}={settings.get(key)!r}' for key in changed)}"
        )
    with np.load(pathlib.Path(backup) / state["tables"]) as tables:
        model.target.embeddings.assign(tables["target"])
        model.context.embeddings.assign(tables["context"])
    # Printed whatever the verbosity: a run that picks up an earlier one's work should say so.
    done = "finished; skipping its training" if state["epoch"] >= settings["epochs"] else (
        f"resuming at epoch {state['epoch'] + 1}/{settings['epochs']}")
    print(f"{backup}: found the backup of an earlier run, {done}", flush=True)
    return int(state["epoch"]), list(state["losses"])


def _save(model, backup, settings, epoch, losses, finished):
    """Writes the tables after ``epoch`` epochs, then the state that names them (both atomically)."""
    if backup is None:
        return
    backup = pathlib.Path(backup)
    backup.mkdir(parents=True, exist_ok=True)
    name = f"epoch_{epoch:04d}.npz"
    target, context = (np.asarray(table.numpy()) for table in (model.target.embeddings, model.context.embeddings))
    files.write_atomically(backup / name, lambda temporary: np.savez(temporary, target=target, context=context))
    files.write_state(backup, {"epoch": epoch, "tables": name, "losses": losses, "settings": settings,
                               "finished": finished})
    for old in backup.glob("epoch_*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    files.failpoint("epoch_end")


def sparse_sgd_step(model, alpha=0.025, min_alpha=1e-4, jit_compile=True):
    """One plain-SGD step of word2vec on a batch, with sparse updates of both tables.

    The gradients of the embedding lookups are ``tf.IndexedSlices`` (rows of the
    batch only); they are applied with ``scatter_sub``, so a step costs
    O(batch * dim) whatever the vocabulary size, and a word that occurs several
    times in the batch gets the sum of its gradients, as if the pairs were
    applied one after the other from the same starting point.

    Args:
        model: a built ``Word2Vec``.
        alpha: learning rate at progress 0.
        min_alpha: learning rate at progress 1.
        jit_compile: compile with XLA (about 3x faster on CPU; needs fixed shapes).

    Returns:
        A ``tf.function`` ``step(inputs, candidates, weights, progress) -> summed loss``.
    """
    loss_function = NegativeSamplingLoss()
    variables = [model.target.embeddings, model.context.embeddings]

    def step(inputs, candidates, weights, progress):
        rate = alpha - (alpha - min_alpha) * progress
        labels = tf.one_hot(tf.zeros_like(candidates[:, 0]), tf.shape(candidates)[1])
        with tf.GradientTape() as tape:
            logits = model((inputs, candidates))
            loss = loss_function(labels, logits, sample_weight=weights)
        gradients = tape.gradient(loss, variables)
        for variable, gradient in zip(variables, gradients):
            if not isinstance(gradient, tf.IndexedSlices):
                raise TypeError(f"Expected a sparse gradient. Received: {type(gradient).__name__}")
            variable.value.scatter_sub(tf.IndexedSlices(gradient.values * rate, gradient.indices))
        return loss

    return tf.function(step, jit_compile=jit_compile)


class _Report:
    """Sends word2vec's progress to Keras callbacks (a progress display and TensorBoard among them)."""

    def __init__(self, callbacks, train_words, verbose, tensorboard):
        self.train_words = int(train_words)
        self.verbose = progress_display.check_verbose(verbose)
        self.callbacks = progress_display.loop_callbacks(callbacks, self.train_words, self.verbose, label="word2vec",
                                                         unit_name="word", tensorboard=tensorboard)

    def begin(self):
        self.callbacks.on_train_begin()

    def chunk_end(self, fraction, loss):
        """``fraction``: of all epochs' words processed when the chunk's last pair was made."""
        words = min(int(round(fraction * self.train_words)), self.train_words)
        self.callbacks.on_train_batch_end(words - 1, {"loss": loss})

    def epoch_end(self, epoch, loss):
        self.callbacks.on_epoch_end(epoch, {"loss": loss})
        if self.verbose == progress_display.LINES:
            print(f"word2vec: epoch {epoch + 1} done, loss per pair {loss:.4f}", flush=True)

    def end(self):
        self.callbacks.on_train_end()
