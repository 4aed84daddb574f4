"""Time w2vjax's evaluators against gensim's on the same vectors file.

  python benchmarks/eval_speed.py --vectors=runs/sgns_wiki9m/vectors.bin

Times reading the file, the nine similarity sets, the analogy set (restrict_vocab=30000)
and the two classification sets (w2vjax only: gensim has no classifier), and prints both
systems' scores side by side.
"""

from __future__ import annotations

import time

from absl import app, flags

from w2vjax import Embeddings, datasets
from w2vjax.errors import one_line_errors
from w2vjax.evaluation import evaluate_analogy, evaluate_classification, evaluate_similarity

FLAGS = flags.FLAGS


def _timed(fn):
  t = time.perf_counter()
  value = fn()
  return value, time.perf_counter() - t


def main(argv):
  del argv
  from gensim.models import KeyedVectors  # benchmark-only dependency

  sims = sorted(datasets.similarity_dir().glob("*.txt"))
  analogy = datasets.analogy_path()
  emb, ours_read = _timed(lambda: Embeddings.load(FLAGS.vectors))
  binary = FLAGS.vectors.endswith(".bin")
  kv, gensim_read = _timed(lambda: KeyedVectors.load_word2vec_format(FLAGS.vectors, binary=binary))
  print(f"{FLAGS.vectors}: {len(emb)} x {emb.dim}")

  _, t_ours_an_cold = _timed(lambda: evaluate_analogy(emb, analogy))  # includes compiling
  evaluate_analogy(emb, analogy, methods=("3cosadd",))  # compile
  ours_add, t_ours_add = _timed(lambda: evaluate_analogy(emb, analogy, methods=("3cosadd",)))
  ours_sim, t_ours_sim = _timed(lambda: [evaluate_similarity(emb, p)["spearman"] for p in sims])
  ours_an, t_ours_an = _timed(lambda: evaluate_analogy(emb, analogy))
  cls_dir = datasets.data_dir() / "classification"
  ours_cls, t_ours_cls = _timed(lambda: [
      evaluate_classification(emb, cls_dir / name)["accuracy"]
      for name in ("sentence_polarity", "movie_reviews.tsv.gz")])
  their_sim, t_their_sim = _timed(lambda: [
      kv.evaluate_word_pairs(str(p), case_insensitive=True)[1][0] for p in sims])
  (their_an, _), t_their_an = _timed(lambda: kv.evaluate_word_analogies(
      str(analogy), restrict_vocab=30000, case_insensitive=True))

  print(f"{'step':<28} {'w2vjax s':>9} {'gensim s':>9}")
  print(f"{'read file':<28} {ours_read:9.2f} {gensim_read:9.2f}")
  print(f"{'9 similarity sets':<28} {t_ours_sim:9.2f} {t_their_sim:9.2f}")
  print(f"{'analogy, first call':<28} {t_ours_an_cold:9.2f} {t_their_an:9.2f}   "
        "(w2vjax: 3CosAdd and 3CosMul, compiling; gensim: 3CosAdd)")
  print(f"{'analogy, compiled':<28} {t_ours_an:9.2f}")
  print(f"{'analogy, 3CosAdd alone':<28} {t_ours_add:9.2f} {t_their_an:9.2f}")
  print(f"{'2 classification sets':<28} {t_ours_cls:9.2f} {'-':>9}")
  print(f"analogy 3CosAdd: w2vjax {ours_an['3cosadd']:.4f} (alone {ours_add['3cosadd']:.4f}), "
        f"gensim {their_an:.4f}; 3CosMul {ours_an['3cosmul']:.4f}")
  worst = max(abs(a - b) for a, b in zip(ours_sim, their_sim))
  print(f"largest similarity difference over {len(sims)} sets: {worst:.2e}")
  print(f"classification accuracy: {', '.join(f'{a:.3f}' for a in ours_cls)}")


if __name__ == "__main__":
  flags.DEFINE_string("vectors", None, "vectors file (word2vec text or binary)", required=True)
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
