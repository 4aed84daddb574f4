"""TrainConfig: every setting of a training run, as plain data."""

from __future__ import annotations

import dataclasses

from w2vjax.errors import InputError


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  # Data.
  corpus: str = "bundled:text8-1m"  # a .txt/.txt.gz path, or bundled:NAME
  cache_dir: str = ""  # encoded-corpus cache; "" means $W2VJAX_CACHE or ~/.cache/w2vjax
  min_count: int = 5
  max_vocab: int = 0  # keep at most this many most frequent words; 0 keeps all
  subsample: float = 1e-3  # word2vec's `sample`; 0 disables subsampling
  # > 0: stream the corpus through the device in chunks of about this many tokens, cut at
  # line ends, the next one prepared while one trains, so memory does not grow with the
  # corpus; 0 holds the whole corpus on the device. Chunks change the draws (not their law).
  # Count-based methods and GloVe count co-occurrences one chunk at a time.
  chunk_tokens: int = 0
  tokenize_workers: int = 0  # processes that encode the corpus on a cache miss; 0 picks
  # Method (w2vjax.methods lists the combinations).
  architecture: str = "skipgram"  # skipgram | cbow | glove | ppmi | ppmi_svd
  # negative_sampling | nce | sampled_softmax | softmax | hierarchical_softmax, for skipgram
  # and cbow; glove, ppmi and ppmi_svd have one objective each and ignore this field.
  objective: str = "negative_sampling"
  dim: int = 100
  window: int = 5  # maximum window m; word2vec's dynamic window draws b ~ U{1..m}
  # Who draws b: "centre", each centre word its own (word2vec.c, fastText); "step", one
  # for all the centres of a step, which then computes 2b context slots instead of 2m
  # (a context at distance d is trained as often either way; BUILD_NOTES compares them).
  window_draw: str = "centre"
  # How often a window method trains a context at distance d: "linear", (m - d + 1) / m
  # (word2vec.c and fastText); "harmonic", 1 / d (the weighting GloVe gives its counts).
  window_weights: str = "linear"
  # The order an epoch visits the centre words of a window method in: "shuffled", a new
  # random order each epoch; "corpus", each row of the batch reads its own stretch of the
  # corpus in order, as word2vec.c's, gensim's and fastText's threads do; "blocks", each
  # row reads a block of `centre_run` kept words in order, the blocks in a new random
  # order each epoch; "runs", each step's centres come `centre_run` neighbouring kept
  # words at a time, the runs in a new random order each epoch, so subword skip-gram in
  # word2vec.c's orientation reads and updates each context word's rows once for the
  # run's overlapping windows.
  # Count methods refuse all but "shuffled" (GloVe visits its co-occurrence entries shuffled).
  centre_order: str = "shuffled"
  centre_run: int = 0  # kept words per block or run; 0: 64 for "blocks", 4 for "runs"
  negatives: int = 5  # K noise words per pair
  # Hierarchical softmax: > 0 caps every Huffman path at this many inner nodes (the
  # optimal tree under the cap: w2vjax.huffman); 0 is word2vec.c's tree, as deep as the
  # counts make it. A step pads every path to the deepest, so the cap sets its cost.
  max_code_length: int = 0
  # Skip-gram with negative sampling, with or without subwords: True is word2vec.c's
  # orientation (context words predict the centre, one set of K noise words per window);
  # False is fastText's (the centre predicts each context word, K noise words per pair).
  share_negatives: bool = True
  # Subwords (fastText): character n-grams of minn..maxn characters of "<word>", hashed
  # into `buckets` rows; maxn = 0 trains without subwords.
  minn: int = 3
  maxn: int = 0
  buckets: int = 2_000_000
  # Co-occurrence counts (glove, ppmi, ppmi_svd): context words within `window` of each
  # word, weighted by distance d: "dynamic" (m - d + 1) / m, word2vec's dynamic window in
  # expectation; "harmonic" 1 / d, GloVe's; "uniform" 1. Subsampling (`subsample`) drops
  # tokens before counting. `symmetric` counts both sides, otherwise the left side only.
  weighting: str = "dynamic"
  symmetric: bool = True
  cds: float = 0.75  # PPMI's context distribution smoothing: context counts ** cds
  shift: float = 1.0  # PPMI's shift k: log k is subtracted from PMI before clipping at 0
  eig_p: float = 0.5  # SVD word vectors U S^eig_p
  svd_solver: str = "scipy"  # scipy | jax (a randomized SVD, runs on accelerators)
  add_context: bool = True  # ppmi_svd and glove export word + context vectors
  x_max: float = 100.0  # GloVe's weighting f(x) = min(1, (x / x_max) ** glove_alpha)
  glove_alpha: float = 0.75
  noise_exponent: float = 0.75  # noise distribution: unigram ** noise_exponent
  init_scale: float = 0.5  # u ~ U(-init_scale/dim, +init_scale/dim)
  context_init: str = "zeros"  # v initialisation: "zeros" (word2vec) or "uniform"
  # Optimisation.
  epochs: int = 5
  # > 0: train exactly this many steps, however many passes that takes, instead of
  # `epochs` (the learning rate decays over them): a compute budget that is reproducible.
  max_steps: int = 0
  batch_size: int = 64  # centre words per step; each gives up to 2 * window pairs
  optimizer: str = "sgd"  # sgd | adagrad | adam
  # 0: the method's default: 0.05 for skip-gram with negative sampling or hierarchical
  # softmax, CBOW and subwords; 0.025 for full softmax, NCE and sampled softmax.
  learning_rate: float = 0.0
  lr_schedule: str = "linear"  # linear (word2vec's decay) | constant
  final_lr_ratio: float = 1e-4  # the linear decay ends at learning_rate * final_lr_ratio
  update: str = "auto"  # dense | sparse | auto (sparse unless the method touches every row)
  steps_per_call: int = 0  # steps run on the device per jitted call; 0 picks (step.py)
  batch_splits: int = 0  # independent parts of a sparse step (CPU cores); 0 picks (step.py)
  seed: int = 0
  # Devices: the global batch_size is split evenly over them.
  parallel: str = "shard_map"  # shard_map | pmap: two wrappers of one per-device step
  num_devices: int = 0  # 0: every device (every process's, in a multi-process run)
  # Split the tables (and their optimizer state) by rows over the devices instead of
  # replicating them: each device holds 1/num_devices of them (w2vjax.placement). One
  # process, parallel=shard_map.
  shard_tables: bool = False
  # Replicated tables on several devices: 1 applies every device's row updates on every
  # device at every step (synchronous data parallel). N > 1: each device trains its own
  # copy, and the copies' changes are added up (word2vec's lock-free threads also apply
  # each other's updates late): those of the `sync_rows` most frequent words' rows every N
  # steps, a slice of the other rows in turn at each of those merges (each row about 40
  # times a run), and every row at the end of each jitted call. 0 picks: 512 on CPU
  # devices, where a collective costs more than a step; 1 elsewhere.
  sync_every: int = 0
  sync_rows: int = 4096
  # CPU only: the JAX devices the host's cores are split into, one thread each, so that
  # data parallel uses every core (XLA runs one small step on one core at a time). 0: one
  # per core, as many as split batch_size into parts of at least 16 centres, for methods
  # that train in copies (w2vjax.methods.trains_in_copies), else 1. Applied by
  # the launchers before JAX starts (w2vjax.use_cpu_devices in a notebook); once JAX has
  # started it changes nothing.
  cpu_devices: int = 0
  # Reporting and checkpoints (with a workdir).
  log_every_seconds: float = 10.0
  checkpoint_every_seconds: float = 300.0
  resume: bool = True  # continue from the workdir's checkpoint if its config matches
  tensorboard: bool = False  # also write metrics as TensorBoard events into workdir/tensorboard
  eval_restrict_vocab: int = 30000  # analogy answers come from this many frequent words

  def replace(self, **changes) -> TrainConfig:
    return dataclasses.replace(self, **changes)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  def to_config_dict(self):
    """As an ml_collections ConfigDict: what ``experiments/configs/NAME.py`` files return."""
    from ml_collections import config_dict
    return config_dict.ConfigDict(self.to_dict())

  @classmethod
  def from_dict(cls, values: dict) -> TrainConfig:
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
      raise InputError(f"unknown config field(s): {', '.join(unknown)}")
    return cls(**values)

