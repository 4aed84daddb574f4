"""notebooks/quickstart.ipynb runs top to bottom and shows what its text says.

One test executes the whole notebook (about 1.5 minutes on 2 cores): separate tests
sharing a module fixture would each execute it again on another pytest-xdist worker.
"""

import base64
import math
import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_python3_kernel() -> None:
  """Fails with the fix when the notebook's kernel would not be this interpreter."""
  specs = KernelSpecManager().find_kernel_specs()
  if "python3" not in specs:
    pytest.fail("no 'python3' Jupyter kernel: install ipykernel into this environment "
                f"(pip install -e '.[test]'); kernels found: {sorted(specs)}")
  # jupyter_client runs a spec whose command is a bare "python" with sys.executable; a
  # stray user-level spec pointing at another interpreter would lack w2vjax's dependencies.
  command = KernelSpecManager().get_kernel_spec("python3").argv[0]
  if command not in ("python", "python3", sys.executable):
    pytest.fail(f"the 'python3' kernel runs {command}, not {sys.executable}: remove that "
                f"kernel spec ({specs['python3']}) or run "
                "`python -m ipykernel install --sys-prefix`")


def _cells(nb) -> dict:
  return {cell["id"]: cell for cell in nb.cells}


def _stdout(cell) -> str:
  return "".join(o.get("text", "") for o in cell.outputs
                 if o.output_type == "stream" and o.name == "stdout")


def _pngs(cell) -> list[bytes]:
  return [base64.b64decode(o.data["image/png"]) for o in cell.outputs
          if o.output_type == "display_data" and "image/png" in o.get("data", {})]


def test_saved_without_outputs():
  nb = nbformat.read(NOTEBOOK, as_version=4)
  nbformat.validate(nb)
  for cell in nb.cells:
    if cell.cell_type == "code":
      assert cell.outputs == [] and cell.execution_count is None, cell.id


@pytest.mark.slow
def test_runs_top_to_bottom(tmp_path, monkeypatch):
  _check_python3_kernel()
  # The kernel inherits this environment: its temporary workdirs, IPython history and
  # connection files land under tmp_path (the corpus cache already does, by conftest).
  monkeypatch.setenv("TMPDIR", str(tmp_path))
  monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
  monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
  nb = nbformat.read(NOTEBOOK, as_version=4)
  client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                   resources={"metadata": {"path": str(NOTEBOOK.parent)}})
  try:
    client.execute()
  except CellExecutionError as e:
    pytest.fail(f"the notebook failed:\n{e}")
  cells = _cells(nb)
  for cell in nb.cells:
    if cell.cell_type == "code":
      assert not [o for o in cell.outputs if o.output_type == "error"], cell.id

  # Outside Colab the setup cell installs nothing: it imports this checkout.
  setup = _stdout(cells["setup"])
  package = re.search(r"^w2vjax \S+ from (.+)$", setup, re.MULTILINE)
  assert package and Path(package.group(1)).resolve() == NOTEBOOK.parents[1] / "w2vjax", setup

  # The README's quickstart figures are WS-353 0.413 and 3CosAdd 4.7%; these bounds leave
  # room for another CPU or JAX version, yet fail for vectors that learned nothing (both
  # are near 0 for random vectors).
  table = _stdout(cells["evaluate"])
  ws353 = re.search(r"^EN-WS-353-ALL\.txt\s+spearman\s+(-?[\d.]+)", table, re.MULTILINE)
  cosadd = re.search(r"^questions-words\.txt\s+3cosadd\s+([\d.]+)%", table, re.MULTILINE)
  assert ws353 and cosadd, table
  assert float(ws353.group(1)) > 0.3, table
  assert float(cosadd.group(1)) > 2.0, table
  assert re.search(r"^sentence_polarity\s+accuracy", table, re.MULTILINE), table

  # Number words are the easiest neighbours to learn: "three" finds other numbers.
  neighbours = _stdout(cells["neighbours"])
  three = next(line for line in neighbours.splitlines() if line.strip().startswith("three:"))
  assert {"two", "four", "five", "six"} & set(re.findall(r"[a-z]+", three.split(":")[1])), three

  # Five of the seven analogies are right with the reference run; the small corpus
  # leaves little margin, so two are required.
  analogies = _stdout(cells["analogies"])
  assert analogies.count(" right;") >= 2, analogies

  for name in ("plot-words", "loss"):
    pngs = _pngs(cells[name])
    assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC) and len(pngs[0]) > 10_000, name

  # The comparison table: a header, a rule and one row per objective, every number finite.
  markdown = "".join(o.data.get("text/markdown", "") for o in cells["compare"].outputs
                     if o.output_type == "display_data")
  rows = [line for line in markdown.splitlines() if line.startswith("| ")][1:]
  assert [row.split("|")[1].strip() for row in rows] == [
      "negative sampling (K=5)", "NCE (K=5)", "sampled softmax (K=5)", "full softmax"], markdown
  for row in rows:
    ws, simlex, analogy, seconds, speed = (c.strip() for c in row.split("|")[2:7])
    assert all(math.isfinite(float(x)) for x in (ws, simlex, analogy.rstrip("%"), seconds))
    # Even one epoch over 2,000 words orders WS-353 pairs far better than chance (0, with
    # a deviation of 0.12 on its pairs in 2,000 words) and answers analogies that random
    # vectors almost never do (the reference run: WS-353 0.25-0.41, 3CosAdd 3.9%-9.6%).
    assert float(ws) > 0.15 and float(analogy.rstrip("%")) > 1.0, row
    assert float(seconds) > 0 and speed.endswith("k"), row
