"""Count-based methods (Levy, Goldberg and Dagan 2015), solved in closed form from the
co-occurrence counts rather than trained: PPMI rows, and their truncated SVD."""

from __future__ import annotations

from w2vjax import ppmi
from w2vjax.errors import InputError
from w2vjax.methods.base import Method, no_model_file
from w2vjax.methods.skipgram import input_vectors


def _solved(name: str, solve, embeddings) -> Method:
  """A method with nothing to train: no tables, no loss, ``solve`` gives its parameters."""
  return Method(name=name, data="cooccurrence", constants={},
                outputs_per_pair=0, step_floats=0, learning_rate=0.0,
                init=lambda key: {}, loss=None, row_grads=None, embeddings=embeddings,
                save_model=no_model_file, solve=solve)


def ppmi_rows(config) -> Method:
  """Each word is its sparse row of positive PMI with every context word."""
  def solve(counts):
    return {"ppmi": ppmi.ppmi(counts, config.cds, config.shift)}

  return _solved(f"PPMI (cds {config.cds:g}, shift {config.shift:g})", solve,
                 lambda params, vocab: ppmi.SparseEmbeddings(vocab.words, params["ppmi"]))


def ppmi_svd(config) -> Method:
  """The PPMI matrix's truncated SVD U S V^T: word vectors U S^p (plus V S^p: w + c)."""
  def solve(counts):
    if config.dim >= counts.shape[0]:
      raise InputError(f"ppmi_svd needs dim < the vocabulary's {counts.shape[0]} words, "
                       f"got dim={config.dim}")
    matrix = ppmi.ppmi(counts, config.cds, config.shift)
    return {"u": ppmi.svd_embeddings(matrix, config.dim, config.eig_p, config.add_context,
                                     config.svd_solver, config.seed)}

  context = " w + c" if config.add_context else ""
  return _solved(f"PPMI-SVD (p {config.eig_p:g}{context}, {config.svd_solver})", solve,
                 input_vectors)
