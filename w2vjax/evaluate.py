"""Intrinsic evaluation: word similarity (Spearman) and analogies (3CosAdd, 3CosMul).

Conventions follow gensim's evaluators so figures are comparable: a similarity pair or an
analogy question with a word missing from the vocabulary is skipped and counted; analogy
answers are searched among the ``restrict_vocab`` most frequent words, excluding the three
question words; when the vocabulary is all lower-case, evaluation words are lower-cased.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from w2vjax import datasets
from w2vjax.embeddings import Embeddings

DEFAULT_SIMILARITY_SETS = ("EN-WS-353-ALL.txt", "EN-SIMLEX-999.txt")
ANALOGY_BATCH = 512
COSMUL_EPSILON = 1e-3  # Levy and Goldberg (2014)


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


def _normalise_case(emb: Embeddings, word: str) -> str:
  return word.lower() if emb.lowercase else word


def evaluate_similarity(emb: Embeddings, path: str | Path) -> dict:
  """Spearman correlation of cosine similarity with the human scores in ``path``."""
  pairs, malformed = read_similarity(path)
  model, human, skipped = [], [], 0
  for w1, w2, score in pairs:
    w1, w2 = _normalise_case(emb, w1), _normalise_case(emb, w2)
    if w1 in emb and w2 in emb:
      model.append(emb.similarity(w1, w2))
      human.append(score)
    else:
      skipped += 1
  rho = float(stats.spearmanr(model, human).statistic) if len(model) > 1 else float("nan")
  return {"spearman": rho, "pairs": len(model), "oov_pairs": skipped, "malformed": malformed}


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


@jax.jit
def _predict_analogies(unit: jax.Array, abc: jax.Array) -> tuple[jax.Array, jax.Array]:
  """3CosAdd and 3CosMul answers for question ids ``abc`` [Q, 3] over rows of ``unit``."""
  a, b, c = unit[abc[:, 0]], unit[abc[:, 1]], unit[abc[:, 2]]
  cos_a, cos_b, cos_c = a @ unit.T, b @ unit.T, c @ unit.T
  add = cos_b - cos_a + cos_c
  # Cosines shifted to [0, 1] so the product and ratio are well behaved.
  mul = (cos_b + 1) * (cos_c + 1) / 2 / ((cos_a + 1) / 2 + COSMUL_EPSILON)
  rows = jnp.arange(abc.shape[0])[:, None]
  excluded = jnp.zeros(add.shape, bool).at[rows, abc].set(True)
  add = jnp.where(excluded, -jnp.inf, add)
  mul = jnp.where(excluded, -jnp.inf, mul)
  return jnp.argmax(add, axis=1), jnp.argmax(mul, axis=1)


def evaluate_analogy(emb: Embeddings, path: str | Path, restrict_vocab: int = 30000) -> dict:
  """Accuracy by 3CosAdd and 3CosMul, overall, semantic/syntactic and per section."""
  questions, malformed = read_analogies(path)
  n = min(restrict_vocab, len(emb)) if restrict_vocab else len(emb)
  index = {w: i for i, w in enumerate(emb.words[:n])}
  ids, sections, skipped = [], [], 0
  for section, words in questions:
    words = [_normalise_case(emb, w) for w in words]
    if all(w in index for w in words):
      ids.append([index[w] for w in words])
      sections.append(section)
    else:
      skipped += 1
  result = {"questions": len(ids), "oov_questions": skipped, "malformed": malformed}
  if not ids:
    return {**result, "3cosadd": float("nan"), "3cosmul": float("nan")}
  ids = np.array(ids, np.int32)
  unit = jnp.asarray(emb.unit[:n])
  pad = -len(ids) % ANALOGY_BATCH
  padded = np.pad(ids[:, :3], ((0, pad), (0, 0)))
  answers = [jax.device_get(_predict_analogies(unit, padded[i:i + ANALOGY_BATCH]))
             for i in range(0, len(padded), ANALOGY_BATCH)]
  sections = np.array(sections)
  syntactic = np.char.startswith(sections, "gram")
  for method, k in (("3cosadd", 0), ("3cosmul", 1)):
    correct = np.concatenate([a[k] for a in answers])[:len(ids)] == ids[:, 3]
    result[method] = float(correct.mean())
    result[f"{method}_semantic"] = float(correct[~syntactic].mean()) if (~syntactic).any() else float("nan")
    result[f"{method}_syntactic"] = float(correct[syntactic].mean()) if syntactic.any() else float("nan")
    result[f"{method}_sections"] = {s: float(correct[sections == s].mean())
                                    for s in dict.fromkeys(sections)}
  return result


def evaluate(emb: Embeddings, similarity_files=None, analogy_file=None,
             restrict_vocab: int = 30000) -> dict:
  """Every similarity set and the analogy set, keyed by file name (bundled sets by default)."""
  if similarity_files is None:
    similarity_files = [datasets.similarity_dir() / name for name in DEFAULT_SIMILARITY_SETS]
  analogy_file = analogy_file or datasets.analogy_path()
  results = {Path(p).name: evaluate_similarity(emb, p) for p in similarity_files}
  results[Path(analogy_file).name] = evaluate_analogy(emb, analogy_file, restrict_vocab)
  return results


def format_table(results: dict) -> str:
  """A plain-text table: one line per dataset with its headline metric(s) and coverage."""
  lines = [f"{'dataset':<24} {'metric':<10} {'score':>7}  coverage"]
  for name, r in results.items():
    if "spearman" in r:
      cover = f"{r['pairs']}/{r['pairs'] + r['oov_pairs']} pairs"
      lines.append(f"{name:<24} {'spearman':<10} {r['spearman']:7.3f}  {cover}")
    else:
      cover = f"{r['questions']}/{r['questions'] + r['oov_questions']} questions"
      for method in ("3cosadd", "3cosmul"):
        lines.append(f"{name:<24} {method:<10} {100 * r[method]:6.1f}%  {cover}")
  return "\n".join(lines)
