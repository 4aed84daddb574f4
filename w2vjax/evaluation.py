"""Evaluation of any word vectors: similarity, analogies and a downstream classifier.

The command line is ``python -m w2vjax.evaluate`` (w2vjax/evaluate.py).

Conventions follow gensim's evaluators so figures are comparable: a similarity pair or an
analogy question with a word missing from the vocabulary is skipped and counted; analogy
answers are searched among the ``restrict_vocab`` most frequent words, excluding every
case form of the three question words as gensim does. Case: words are matched
case-insensitively, each to the most frequent form in the vocabulary (gensim's
``case_insensitive=True``, its default), for similarity, analogies and the classification
documents alike.

A subword model (w2vjax.subwords) can also give vectors to words outside its vocabulary:
pass ``oov_vector`` and similarity pairs with such words are scored instead of skipped.
Analogies and classification use the vocabulary's vectors only, so their figures stay
comparable with any other vectors'.

Sparse rows (w2vjax.ppmi.SparseEmbeddings: PPMI rows, |V|-dimensional) are evaluated on
similarity and analogies by the same code, their unit rows kept sparse; classification
skips them, as document features with |V| dimensions make no sensible classifier input.

A data folder is laid out like ``../shared/data``: similarity/*.txt,
analogy/questions-words.txt, classification/sentence_polarity/rt-polarity.{pos,neg} and
classification/movie_reviews.tsv.gz; whatever of these it holds is evaluated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
from scipy import stats

from w2vjax import classify, datasets, text
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError
from w2vjax.ppmi import SparseEmbeddings

ANALOGY_BATCH = 128
ANALOGY_METHODS = ("3cosadd", "3cosmul")
COSMUL_EPSILON = 1e-3  # Levy and Goldberg (2014)
GENSIM_TOPN = 5  # evaluate_word_analogies looks no further than most_similar's top 5


def read_similarity(path: str | Path) -> tuple[list[tuple[str, str, float]], int]:
  """(word1, word2, score) triples from ``w1<TAB>w2<TAB>score`` lines, and the malformed count."""
  pairs, malformed = [], 0
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      parts = line.split()
      if not parts or line.startswith("#"):
        continue
      try:
        pairs.append((parts[0], parts[1], float(parts[2])))
      except (IndexError, ValueError):
        malformed += 1
  return pairs, malformed


def evaluate_similarity(emb: Embeddings | SparseEmbeddings, path: str | Path,
                        restrict_vocab: int = 300000,
                        oov_vector: Callable[[str], np.ndarray | None] | None = None) -> dict:
  """Spearman correlation of cosine similarity with the human scores in ``path``.

  Words outside the ``restrict_vocab`` most frequent count as missing (gensim's default).
  A missing word is skipped with its pair, unless ``oov_vector`` gives it a vector: it is
  called with the lower-cased word (fastText's eval.py lower-cases too) and returns a
  vector, or None (or zeros) for none. Coverage: ``pairs`` scored, of which
  ``vocab_pairs`` from the vocabulary alone and ``subword_pairs`` with at least one word
  from ``oov_vector``; ``oov_pairs`` skipped.
  """
  if oov_vector is not None and scipy.sparse.issparse(emb.unit):
    raise InputError("oov_vector composes dense vectors: it cannot score sparse rows")
  pairs, malformed = read_similarity(path)
  index = emb.folded_index(restrict_vocab)
  composed: dict[str, np.ndarray | None] = {}

  def unit(word: str) -> tuple[np.ndarray | None, bool]:
    """(unit vector or None, whether it came from ``oov_vector``)."""
    word = word.lower()
    if word in index:
      return _unit_row(emb.unit, index[word]), False
    if oov_vector is None:
      return None, False
    if word not in composed:
      composed[word] = _unit_or_none(oov_vector(word))
    return composed[word], True

  model, human, skipped, subword_pairs = [], [], 0, 0
  for w1, w2, score in pairs:
    (u1, oov1), (u2, oov2) = unit(w1), unit(w2)
    if u1 is None or u2 is None:
      skipped += 1
      continue
    model.append(float(u1 @ u2))
    human.append(score)
    subword_pairs += oov1 or oov2
  rho = float(stats.spearmanr(model, human).statistic) if len(model) > 1 else float("nan")
  return {"spearman": rho, "pairs": len(model), "vocab_pairs": len(model) - subword_pairs,
          "subword_pairs": subword_pairs, "oov_pairs": skipped, "malformed": malformed}


def _unit_row(unit: np.ndarray | scipy.sparse.csr_matrix, i: int) -> np.ndarray:
  """Row ``i`` of the unit vectors, dense: a sparse row is expanded (cheap for the few
  thousand words of a similarity set)."""
  row = unit[i]
  return row.toarray()[0] if scipy.sparse.issparse(row) else row


def _unit_or_none(vector: np.ndarray | None) -> np.ndarray | None:
  if vector is None:
    return None
  vector = np.asarray(vector, np.float32)
  norm = float(np.linalg.norm(vector))
  return vector / norm if norm > 0 else None


def read_analogies(path: str | Path) -> tuple[list[tuple[str, tuple[str, ...]]], int]:
  """(section, (a, b, c, d)) for each ``a b c d`` line under ``: section`` headers."""
  questions, malformed, section = [], 0, ""
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      if line.startswith(":"):
        section = line[1:].strip()
        continue
      words = line.split()
      if not words:
        continue
      if len(words) != 4:
        malformed += 1
        continue
      questions.append((section, tuple(words)))
  return questions, malformed


def _gensim_answer(scores: jax.Array, abc: jax.Array, fold: jax.Array) -> jax.Array:
  """The answer gensim's evaluate_word_analogies takes from each row of ``scores`` [Q, N].

  gensim's most_similar drops the ids of a, b and c (each its most frequent case form)
  and returns the top 5 words; the evaluator takes the first of them that is no case form
  of a, b or c, or else the last of them (a wrong answer unless d is such a form). ``fold``
  [N] maps each word to the id of its most frequent case form, so ``fold[w]`` is in
  ``abc`` exactly when w is a case form of a question word. -1: no answer at all.
  """
  rows = jnp.arange(abc.shape[0])[:, None]
  scores = scores.at[rows, abc].set(-jnp.inf)
  top_scores, top = jax.lax.top_k(scores, min(GENSIM_TOPN, scores.shape[1]))
  listed = top_scores > -jnp.inf
  other = listed & (fold[top][:, :, None] != abc[:, None, :]).all(axis=2)
  last_listed = listed.shape[1] - 1 - jnp.argmax(listed[:, ::-1], axis=1)
  pick = jnp.where(other.any(axis=1), jnp.argmax(other, axis=1), last_listed)
  answer = jnp.take_along_axis(top, pick[:, None], axis=1)[:, 0]
  return jnp.where(listed.any(axis=1), answer, -1)


@jax.jit
def _predict_3cosadd(unit: jax.Array, abc: jax.Array, fold: jax.Array) -> jax.Array:
  """3CosAdd answers for word ids ``abc`` [Q, 3]: one matrix product, as gensim does."""
  query = unit[abc[:, 1]] - unit[abc[:, 0]] + unit[abc[:, 2]]
  return _gensim_answer(query @ unit.T, abc, fold)


@jax.jit
def _predict_both(cos: jax.Array, local: jax.Array, abc: jax.Array, fold: jax.Array
                  ) -> tuple[jax.Array, jax.Array]:
  """3CosAdd and 3CosMul answers from the question words' cosines with every candidate.

  ``cos`` [U, N] holds the cosines of the U distinct question words; ``local`` [Q, 3]
  indexes a, b, c into its rows and ``abc`` [Q, 3] gives their word ids.
  """
  cos_a, cos_b, cos_c = cos[local[:, 0]], cos[local[:, 1]], cos[local[:, 2]]
  add = cos_b - cos_a + cos_c
  # Levy and Goldberg's 3CosMul, cosines shifted to [0, 1] (constant factors dropped).
  mul = (cos_b + 1) * (cos_c + 1) / (cos_a + 1 + 2 * COSMUL_EPSILON)
  return _gensim_answer(add, abc, fold), _gensim_answer(mul, abc, fold)


def _cosines(unit: np.ndarray | scipy.sparse.csr_matrix, rows: np.ndarray) -> jax.Array:
  """Cosines [R, N] of the unit rows ``rows`` with all N rows of ``unit``, on the device.

  Sparse rows multiply sparse by sparse: [R, N] is the only dense result, never [N, V].
  """
  if scipy.sparse.issparse(unit):
    return jnp.asarray((unit[rows] @ unit.T).toarray())
  unit = jnp.asarray(unit)
  return unit[rows] @ unit.T


def _predict(unit: np.ndarray | scipy.sparse.csr_matrix, ids: np.ndarray, fold: np.ndarray,
             methods: tuple[str, ...]) -> dict:
  """Answer ids [Q] per method (-1: none), computed on the device in fixed-size batches."""
  pad = -len(ids) % ANALOGY_BATCH
  abc = np.pad(ids[:, :3], ((0, pad), (0, 0)))
  batches = range(0, len(abc), ANALOGY_BATCH)
  fold = jnp.asarray(fold)
  if "3cosmul" not in methods and not scipy.sparse.issparse(unit):
    unit = jnp.asarray(unit)
    add = [_predict_3cosadd(unit, abc[i:i + ANALOGY_BATCH], fold) for i in batches]
    return {"3cosadd": np.concatenate(jax.device_get(add))[:len(ids)]}
  # The questions use few distinct words (about 900 in Mikolov's set): their cosines with
  # every candidate take one matrix product, and each question then only gathers rows.
  # Sparse rows always come this way: b - a + c would be a dense |V|-vector per question,
  # and cos_b - cos_a + cos_c ranks candidates exactly as cos(x, b - a + c) does.
  distinct, local = np.unique(abc, return_inverse=True)
  cos = _cosines(unit, distinct)
  local = local.reshape(-1, 3).astype(np.int32)
  answers = jax.device_get([_predict_both(cos, local[i:i + ANALOGY_BATCH],
                                          abc[i:i + ANALOGY_BATCH], fold) for i in batches])
  return {method: np.concatenate([a[k] for a in answers])[:len(ids)]
          for k, method in enumerate(("3cosadd", "3cosmul")) if method in methods}


def evaluate_analogy(emb: Embeddings | SparseEmbeddings, path: str | Path,
                     restrict_vocab: int = 30000,
                     methods: tuple[str, ...] = ANALOGY_METHODS) -> dict:
  """Accuracy by 3CosAdd and 3CosMul, overall, semantic/syntactic and per section.

  Each method's answer is picked from its ranking as gensim's evaluate_word_analogies picks
  from 3CosAdd's (``_gensim_answer``): no case form of a, b or c counts as an answer.
  """
  unknown = set(methods) - set(ANALOGY_METHODS)
  if unknown or not methods:
    raise InputError(f"analogy methods must be among {ANALOGY_METHODS}, not {sorted(unknown)}")
  if restrict_vocab < 0:
    raise InputError(f"restrict_vocab must be >= 0 (0: every word), got {restrict_vocab}")
  questions, malformed = read_analogies(path)
  n = min(restrict_vocab, len(emb)) if restrict_vocab else len(emb)
  index = emb.folded_index(n)
  ids, sections, skipped = [], [], 0
  for section, words in questions:
    found = [index.get(w.lower()) for w in words]
    if None not in found:
      ids.append(found)
      sections.append(section)
    else:
      skipped += 1
  result = {"questions": len(ids), "oov_questions": skipped, "malformed": malformed}
  if not ids:
    return {**result, **{m: float("nan") for m in methods}}
  ids = np.array(ids, np.int32)
  sections = np.array(sections)
  syntactic = np.char.startswith(sections, "gram")
  # Case forms share a fold id, so "Paris" answers "paris" (gensim's rule).
  fold = np.array([index[w.lower()] for w in emb.words[:n]], np.int32)
  for method, predicted in _predict(emb.unit[:n], ids, fold, methods).items():
    correct = (predicted >= 0) & (fold[predicted] == ids[:, 3])
    result[method] = float(correct.mean())
    result[f"{method}_semantic"] = float(correct[~syntactic].mean()) if (~syntactic).any() else float("nan")
    result[f"{method}_syntactic"] = float(correct[syntactic].mean()) if syntactic.any() else float("nan")
    result[f"{method}_sections"] = {s: float(correct[sections == s].mean())
                                    for s in dict.fromkeys(sections)}
  return result


def read_sentence_polarity(folder: str | Path) -> tuple[list[list[str]], np.ndarray]:
  """Pang and Lee's sentence polarity: rt-polarity.pos (label 1) and rt-polarity.neg (0)."""
  docs, labels = [], []
  for label, name in ((1, "rt-polarity.pos"), (0, "rt-polarity.neg")):
    for line in text.read_lines(Path(folder) / name):
      if line.strip():
        docs.append(text.tokenize(line))
        labels.append(label)
  return docs, np.array(labels, np.int32)


def read_labelled_tsv(path: str | Path) -> tuple[list[list[str]], np.ndarray]:
  """``label<TAB>text`` lines with label pos or neg (the movie-review set)."""
  docs, labels = [], []
  for lineno, line in enumerate(text.read_lines(path), 1):
    label, sep, body = line.partition("\t")
    if not line.strip():
      continue
    if not sep or label not in ("pos", "neg"):
      raise InputError(f"{path}:{lineno}: expected 'pos|neg<TAB>text'")
    docs.append(text.tokenize(body))
    labels.append(int(label == "pos"))
  return docs, np.array(labels, np.int32)


CLASSIFICATION_SETS = {
    "sentence_polarity": read_sentence_polarity,
    "movie_reviews.tsv.gz": read_labelled_tsv,
}


def evaluate_classification(emb: Embeddings, path: str | Path, weighting: str = "mean",
                            folds: int = 10, seed: int = 0) -> dict:
  """10-fold cross-validated accuracy of logistic regression on averaged word vectors."""
  if scipy.sparse.issparse(emb.unit):
    raise InputError("classification needs dense vectors, not sparse |V|-dimensional rows")
  path = Path(path)
  reader = CLASSIFICATION_SETS.get(path.name, read_labelled_tsv)
  docs, labels = reader(path)
  if len(set(labels.tolist())) < 2:
    raise InputError(f"{path}: a classification set needs both labels")
  features, empty = classify.document_features(emb, docs, weighting)
  accuracy = classify.cross_validate(features, labels, folds, seed)
  return {"accuracy": float(accuracy.mean()), "std": float(accuracy.std()), "folds": folds,
          "documents": len(docs), "empty_documents": empty, "weighting": weighting}


def evaluate(emb: Embeddings | SparseEmbeddings, data_dir: str | Path | None = None,
             restrict_vocab: int = 30000, classification: bool = True, weighting: str = "mean",
             analogy_methods: tuple[str, ...] = ANALOGY_METHODS,
             oov_vector: Callable[[str], np.ndarray | None] | None = None) -> dict:
  """Every set under ``data_dir`` (bundled sets by default), keyed by file name.

  ``oov_vector`` (see ``evaluate_similarity``) scores similarity pairs with words outside
  the vocabulary; analogies and classification use the vocabulary's vectors only.
  Sparse rows skip classification: its sets are listed with the reason, as "skipped".
  """
  data_dir = Path(data_dir) if data_dir else datasets.data_dir()
  if not data_dir.is_dir():
    raise InputError(f"evaluation data folder not found: {data_dir}")
  results = {p.name: evaluate_similarity(emb, p, oov_vector=oov_vector)
             for p in sorted((data_dir / "similarity").glob("*.txt"))}
  analogy = data_dir / "analogy" / "questions-words.txt"
  if analogy.is_file():
    results[analogy.name] = evaluate_analogy(emb, analogy, restrict_vocab, analogy_methods)
  if classification:
    for name in CLASSIFICATION_SETS:
      path = data_dir / "classification" / name
      if path.exists() and scipy.sparse.issparse(emb.unit):
        results[name] = {"skipped": "sparse rows have no document features"}
      elif path.exists():
        results[name] = evaluate_classification(emb, path, weighting)
  if not results:
    raise InputError(f"no evaluation sets under {data_dir} (expected similarity/, analogy/ "
                     "or classification/)")
  return results


def format_table(results: dict) -> str:
  """A plain-text table: one line per dataset with its headline metric(s) and coverage."""
  lines = [f"{'dataset':<24} {'metric':<10} {'score':>7}  coverage"]
  for name, r in results.items():
    if "skipped" in r:
      lines.append(f"{name:<24} {'skipped':<10} {'':>7}  {r['skipped']}")
    elif "accuracy" in r:
      cover = f"{r['documents'] - r['empty_documents']}/{r['documents']} documents"
      lines.append(f"{name:<24} {'accuracy':<10} {r['accuracy']:7.3f}  {cover}, "
                   f"+-{r['std']:.3f} over {r['folds']} folds")
    elif "spearman" in r:
      cover = f"{r['pairs']}/{r['pairs'] + r['oov_pairs']} pairs"
      if r.get("subword_pairs"):
        cover += f" ({r['subword_pairs']} with OOV words composed from subwords)"
      if r["malformed"]:
        cover += f", {r['malformed']} malformed lines skipped"
      lines.append(f"{name:<24} {'spearman':<10} {r['spearman']:7.3f}  {cover}")
    else:
      cover = f"{r['questions']}/{r['questions'] + r['oov_questions']} questions"
      if r["malformed"]:
        cover += f", {r['malformed']} malformed lines skipped"
      for method in (m for m in ANALOGY_METHODS if m in r):
        lines.append(f"{name:<24} {method:<10} {100 * r[method]:6.1f}%  {cover}")
  return "\n".join(lines)

