import numpy as np
import pytest
from scipy import stats

from w2vjax import Embeddings, datasets
from w2vjax.evaluation import evaluate, evaluate_analogy, evaluate_similarity, format_table
from w2vjax.subwords import SubwordModel


def test_similarity_spearman_and_oov(tmp_path):
  rng = np.random.default_rng(0)
  words = tuple(f"w{i}" for i in range(30))
  emb = Embeddings(words, rng.normal(size=(30, 5)))
  lines, model, human = [], [], []
  for i in range(0, 28, 2):
    score = float(rng.uniform(0, 10))
    lines.append(f"W{i}\tw{i + 1}\t{score}")  # upper case: lower-cased for this vocabulary
    model.append(emb.similarity(f"w{i}", f"w{i + 1}"))
    human.append(score)
  lines += ["w0\tunknown\t5.0", "broken line", ""]
  (tmp_path / "sim.txt").write_text("\n".join(lines))
  r = evaluate_similarity(emb, tmp_path / "sim.txt")
  assert r["pairs"] == 14 and r["oov_pairs"] == 1 and r["malformed"] == 1
  np.testing.assert_allclose(r["spearman"], stats.spearmanr(model, human).statistic, rtol=1e-9)


def _analogy_embeddings():
  """Countries and capitals: capital = country + c, so 3CosAdd answers exactly."""
  rng = np.random.default_rng(1)
  countries = ["france", "germany", "italy", "spain"]
  capitals = ["paris", "berlin", "rome", "madrid"]
  base = rng.normal(size=(4, 16))
  offset = rng.normal(size=16) * 2
  words = countries + capitals + ["noise1", "noise2"]
  vectors = np.concatenate([base, base + offset, rng.normal(size=(2, 16))])
  return Embeddings(tuple(words), vectors), countries, capitals


def test_analogy_accuracy(tmp_path):
  emb, countries, capitals = _analogy_embeddings()
  lines = [": capital-world"]
  for i in range(4):
    for j in range(4):
      if i != j:
        lines.append(f"{countries[i]} {capitals[i]} {countries[j]} {capitals[j]}")
  lines += [": gram1-adjective-to-adverb", "france paris italy noise1", "a b c d",
            "too few words"]
  (tmp_path / "q.txt").write_text("\n".join(lines))
  r = evaluate_analogy(emb, tmp_path / "q.txt")
  assert r["questions"] == 13 and r["oov_questions"] == 1 and r["malformed"] == 1
  np.testing.assert_allclose(r["3cosadd"], 12 / 13)
  np.testing.assert_allclose(r["3cosadd_semantic"], 1.0)
  np.testing.assert_allclose(r["3cosadd_syntactic"], 0.0)
  assert r["3cosadd_sections"] == {"capital-world": 1.0, "gram1-adjective-to-adverb": 0.0}
  np.testing.assert_allclose(r["3cosmul_semantic"], 1.0)


def test_analogy_restrict_vocab_skips_rare_words(tmp_path):
  emb, countries, capitals = _analogy_embeddings()
  (tmp_path / "q.txt").write_text("france paris germany berlin\nitaly rome spain madrid\n")
  r = evaluate_analogy(emb, tmp_path / "q.txt", restrict_vocab=7)  # madrid is 8th
  assert r["questions"] == 1 and r["oov_questions"] == 1


def test_3cosmul_differs_from_3cosadd_where_one_term_dominates(tmp_path):
  # Found by search: the two methods rank d1 and d2 in opposite orders.
  words = ("a", "b", "c", "d1", "d2")
  vectors = np.array([[0.4, 0.3, -0.2], [0.7, 0.2, -0.5], [-0.2, -1.2, -1.0],
                      [-1.9, -0.7, 1.3], [-0.6, 0.8, 0.0]], np.float32)
  emb = Embeddings(words, vectors)
  (tmp_path / "q.txt").write_text("a b c d2\n")
  r = evaluate_analogy(emb, tmp_path / "q.txt")
  unit = emb.unit
  add = unit @ (unit[1] - unit[0] + unit[2])
  cos = (unit @ unit[:3].T + 1) / 2
  mul = cos[:, 1] * cos[:, 2] / (cos[:, 0] + 1e-3)
  assert np.argmax(add[3:]) + 3 == 3  # 3CosAdd picks d1 ...
  assert np.argmax(mul[3:]) + 3 == 4  # ... 3CosMul picks d2
  assert r["3cosadd"] == 0.0 and r["3cosmul"] == 1.0


def test_bundled_sets_and_table():
  rng = np.random.default_rng(0)
  emb = Embeddings(("king", "queen", "man", "woman", "love", "sex"), rng.normal(size=(6, 4)))
  results = evaluate(emb, classification=False)
  assert len(results) == 10 and "questions-words.txt" in results  # 9 similarity sets
  assert results["EN-WS-353-ALL.txt"]["pairs"] >= 1
  table = format_table(results)
  assert "EN-SIMLEX-999.txt" in table and "3cosmul" in table
  assert (datasets.similarity_dir() / "EN-WS-353-ALL.txt").is_file()


def test_case_insensitive_matching_uses_the_most_frequent_form(tmp_path):
  # "Paris" (id 0) is more frequent than "paris" (id 2); "france" has one form.
  words = ("Paris", "france", "paris", "Berlin", "germany")
  vectors = np.array([[1, 0, 0], [0, 1, 0], [-1, 0, 0], [1, 0.1, 1], [0, 1, 1]], np.float32)
  emb = Embeddings(words, vectors)
  (tmp_path / "sim.txt").write_text("PARIS\tfrance\t5\nparis\tFrance\t6\nberlin\tgermany\t7\n")
  r = evaluate_similarity(emb, tmp_path / "sim.txt")
  assert r["pairs"] == 3 and r["oov_pairs"] == 0
  assert emb.folded_index() == {"paris": 0, "france": 1, "berlin": 3, "germany": 4}


@pytest.fixture(scope="module")
def text8_vectors(tmp_path_factory):
  """Real (if weak) vectors: 2 epochs on the bundled corpus, about 15 s on 2 cores."""
  from w2vjax import TrainConfig, train
  cfg = TrainConfig(epochs=2, batch_size=128,
                    cache_dir=str(tmp_path_factory.mktemp("cache")))
  return train(cfg, show_progress=False).embeddings


@pytest.mark.xdist_group("text8_vectors")
@pytest.mark.slow
def test_trained_vectors_agree_with_gensim_evaluators(text8_vectors):
  keyed = pytest.importorskip("gensim.models").KeyedVectors
  emb = text8_vectors
  kv = keyed(vector_size=emb.dim)
  kv.add_vectors(list(emb.words), emb.vectors)
  for path in sorted(datasets.similarity_dir().glob("*.txt")):
    ours = evaluate_similarity(emb, path)
    (_, _), (rho, _), oov = kv.evaluate_word_pairs(str(path), case_insensitive=True)
    np.testing.assert_allclose(ours["spearman"], rho, atol=0.005, err_msg=path.name)
    np.testing.assert_allclose(100 * ours["oov_pairs"] / (ours["pairs"] + ours["oov_pairs"]),
                               oov, atol=0.01)
  ours = evaluate_analogy(emb, datasets.analogy_path(), restrict_vocab=30000)
  theirs, sections = kv.evaluate_word_analogies(str(datasets.analogy_path()),
                                                restrict_vocab=30000, case_insensitive=True)
  assert ours["3cosadd"] > 0.01  # trained vectors answer some questions: the check has teeth
  np.testing.assert_allclose(ours["3cosadd"], theirs, atol=0.005)
  total = [s for s in sections if s["section"] == "Total accuracy"][0]
  assert ours["questions"] == len(total["correct"]) + len(total["incorrect"])


@pytest.mark.xdist_group("text8_vectors")
@pytest.mark.slow
def test_evaluate_command_line(tmp_path, text8_vectors):
  import json
  import subprocess
  import sys
  data = tmp_path / "data"
  (data / "similarity").mkdir(parents=True)
  (data / "analogy").mkdir()
  (data / "classification").mkdir()
  src = datasets.data_dir()
  for name in ("EN-WS-353-ALL.txt", "EN-RG-65.txt"):
    (data / "similarity" / name).write_bytes((src / "similarity" / name).read_bytes())
  (data / "analogy" / "questions-words.txt").write_bytes(datasets.analogy_path().read_bytes())
  (data / "classification" / "movie_reviews.tsv.gz").write_bytes(
      (src / "classification" / "movie_reviews.tsv.gz").read_bytes())
  text8_vectors.save(tmp_path / "vectors.bin")
  out = tmp_path / "scores.json"
  proc = subprocess.run([sys.executable, "-m", "w2vjax.evaluate", f"--vectors={tmp_path / 'vectors.bin'}",
                         f"--data_dir={data}", f"--json={out}"], capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "EN-RG-65.txt" in proc.stdout and "movie_reviews.tsv.gz" in proc.stdout
  results = json.loads(out.read_text())["results"]
  assert set(results) == {"EN-WS-353-ALL.txt", "EN-RG-65.txt", "questions-words.txt",
                          "movie_reviews.tsv.gz"}
  expected = evaluate_similarity(text8_vectors, data / "similarity" / "EN-RG-65.txt")
  np.testing.assert_allclose(results["EN-RG-65.txt"]["spearman"], expected["spearman"], rtol=1e-6)
  assert {"3cosadd", "3cosmul"} <= set(results["questions-words.txt"])
  assert 0.5 < results["movie_reviews.tsv.gz"]["accuracy"] <= 1.0
  for args, message in ((["--vectors=/no/such.bin"], "vectors file not found"),
                        ([f"--vectors={tmp_path / 'vectors.bin'}", "--json=/no/such/s.json"],
                         "output folder does not exist: /no/such"),
                        ([f"--vectors={tmp_path / 'vectors.bin'}", "--restrict_vocab=-1"],
                         "restrict_vocab must be >= 0")):
    bad = subprocess.run([sys.executable, "-m", "w2vjax.evaluate", *args],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and message in bad.stderr.strip().splitlines()[-1], bad.stderr
    assert "Traceback" not in bad.stderr


def _cased_analogy_file(tmp_path):
  """Cased vectors (GoogleNews-style "Germany" beside "germany") and questions where the
  case forms of the question words decide the answer, as a word2vec text file."""
  rng = np.random.default_rng(3)
  base = {w: rng.normal(size=8) for w in ("france", "germany", "italy", "spain")}
  offset = rng.normal(size=8)
  vectors = dict(base)
  for country, capital in (("france", "paris"), ("germany", "berlin"), ("italy", "rome"),
                           ("spain", "madrid")):
    vectors[capital] = base[country] + offset + 0.3 * rng.normal(size=8)
  unit = {w: v / np.linalg.norm(v) for w, v in vectors.items()}
  # "Germany" is the word nearest to paris - france + germany: only a case form of c.
  vectors["Germany"] = unit["paris"] - unit["france"] + unit["germany"]
  # Five forms of "italy" fill gensim's top 5 for france : paris :: italy : ?, so gensim
  # answers the fifth of them (wrong), though "rome" comes next.
  query = unit["paris"] - unit["france"] + unit["italy"]
  for form in ("Italy", "ITALY", "iTaly", "itAly", "itaLy"):
    vectors[form] = query + 0.01 * rng.normal(size=8)
  vectors["Rome"] = unit["rome"] - unit["italy"] + unit["spain"]  # b of italy : rome :: spain
  vectors.update({f"noise{i}": rng.normal(size=8) for i in range(20)})
  emb = Embeddings(tuple(vectors), np.stack(list(vectors.values())))
  emb.save(tmp_path / "cased.txt")
  (tmp_path / "q.txt").write_text(
      ": capital-common-countries\nfrance paris germany berlin\nFrance Paris Germany Berlin\n"
      "france paris italy rome\nspain madrid italy rome\nitaly rome spain madrid\n"
      "germany berlin france paris\nfrance paris atlantis x\n")
  return tmp_path / "cased.txt", tmp_path / "q.txt"


def test_analogy_excludes_case_forms_exactly_as_gensim(tmp_path):
  keyed = pytest.importorskip("gensim.models").KeyedVectors
  vectors, questions = _cased_analogy_file(tmp_path)
  emb = Embeddings.load(vectors)
  ours = evaluate_analogy(emb, questions, restrict_vocab=1000, methods=("3cosadd",))
  kv = keyed.load_word2vec_format(str(vectors))
  theirs, sections = kv.evaluate_word_analogies(str(questions), restrict_vocab=1000,
                                                case_insensitive=True)
  total = sections[-1]
  assert ours["questions"] == len(total["correct"]) + len(total["incorrect"]) == 6
  assert ours["oov_questions"] == 1
  np.testing.assert_allclose(ours["3cosadd"], theirs)
  # The check has teeth: excluding only the exact ids of a, b, c, or every case form with
  # no top-5 limit, scores differently.
  index = emb.folded_index()
  fold = np.array([index[w.lower()] for w in emb.words])
  exact, every_form = [], []
  for a, b, c, d in (line.split() for line in questions.read_text().splitlines()[1:-1]):
    ia, ib, ic, idd = (index[w.lower()] for w in (a, b, c, d))
    scores = emb.unit @ (emb.unit[ib] - emb.unit[ia] + emb.unit[ic])
    scores[[ia, ib, ic]] = -np.inf
    exact.append(fold[np.argmax(scores)] == idd)
    scores[np.isin(fold, [ia, ib, ic])] = -np.inf
    every_form.append(fold[np.argmax(scores)] == idd)
  assert np.mean(exact) < theirs < np.mean(every_form)


def _subword_model():
  rng = np.random.default_rng(4)
  words = ("cat", "dog", "car", "house", "tree")
  return SubwordModel(words, rng.normal(size=(len(words) + 200, 6)), 4, 5, 200)


def test_similarity_scores_oov_words_from_subwords(tmp_path):
  model = _subword_model()
  emb = model.embeddings()
  (tmp_path / "sim.txt").write_text(
      "cat\tdog\t5\nCATS\tdog\t6\ncat\thouses\t2\ntree\tcar\t1\nx\tcat\t4\ncats\ttrees\t8\n")
  r = evaluate_similarity(emb, tmp_path / "sim.txt", oov_vector=model.oov_vector)
  # "x" has no n-gram of 4 or 5 characters ("<x>" has 3): no vector, its pair is skipped.
  assert (r["pairs"], r["vocab_pairs"], r["subword_pairs"], r["oov_pairs"]) == (5, 2, 3, 1)

  def cos(u, v):
    return u @ v / np.linalg.norm(u) / np.linalg.norm(v)

  vec = model.word_vector  # OOV words reach it lower-cased
  expected = [cos(emb["cat"], emb["dog"]), cos(vec("cats"), emb["dog"]),
              cos(emb["cat"], vec("houses")), cos(emb["tree"], emb["car"]),
              cos(vec("cats"), vec("trees"))]
  np.testing.assert_allclose(r["spearman"],
                             stats.spearmanr(expected, [5, 6, 2, 1, 8]).statistic, rtol=1e-6)
  plain = evaluate_similarity(emb, tmp_path / "sim.txt")  # the Embeddings path: unchanged
  assert (plain["pairs"], plain["subword_pairs"], plain["oov_pairs"]) == (2, 0, 4)
  table = format_table({"sim.txt": r})
  assert "5/6 pairs (3 with OOV words composed from subwords)" in table


@pytest.mark.slow
def test_evaluate_command_line_with_a_subword_model(tmp_path):
  import json
  import subprocess
  import sys
  model = _subword_model()
  model.save(tmp_path / "model.npz")
  (tmp_path / "data" / "similarity").mkdir(parents=True)
  (tmp_path / "data" / "similarity" / "sim.txt").write_text("cat\tdog\t5\ncats\tdog\t6\n"
                                                             "tree\tcars\t1\n")
  out = tmp_path / "scores.json"
  proc = subprocess.run([sys.executable, "-m", "w2vjax.evaluate", f"--model={tmp_path}",
                         f"--data_dir={tmp_path / 'data'}", f"--json={out}"],
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "+ 200 buckets of 4-5-grams" in proc.stdout
  saved = json.loads(out.read_text())
  assert saved["model"] == str(tmp_path)
  assert (saved["minn"], saved["maxn"], saved["buckets"]) == (4, 5, 200)
  assert saved["results"]["sim.txt"]["subword_pairs"] == 2
  both = subprocess.run([sys.executable, "-m", "w2vjax.evaluate", f"--model={tmp_path}",
                         "--vectors=v.txt"], capture_output=True, text=True, timeout=300)
  assert both.returncode != 0
  assert both.stderr.strip().splitlines()[-1] == ("error: give one of --vectors=FILE and "
                                                  "--model=FILE_OR_WORKDIR")
