"""Run under 4 fake devices: the vocabulary-sharded softmax against the unsharded one."""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from w2vjax import parallel
from w2vjax.corpus import Batch
from w2vjax.methods import sharded_softmax, skipgram


def main():
  rng = np.random.default_rng(0)
  vocab, dim, centres, slots = 64, 8, 6, 4
  params = {"u": jnp.asarray(rng.normal(size=(vocab, dim)), jnp.float32),
            "v": jnp.asarray(rng.normal(size=(vocab, dim)) * 3, jnp.float32)}
  batch = Batch(jnp.asarray(rng.integers(0, vocab, centres)),
                jnp.asarray(rng.integers(0, vocab, (centres, slots))),
                jnp.zeros((centres, slots, 0), jnp.int32),
                jnp.asarray(rng.integers(0, 2, (centres, slots)), jnp.float32))
  want, want_grad = jax.value_and_grad(
      lambda p: skipgram.full_softmax_loss(p, {}, batch))(params)
  report = {}
  for devices in (1, 2, 4):
    topology = parallel.make_topology(devices)
    sharded = sharded_softmax.vocab_sharded_softmax_loss(topology)
    loss_fn = lambda u, v, t, c, m: sharded(u[t], v, c, m)  # noqa: E731
    v = jax.device_put(params["v"], NamedSharding(topology.mesh, P(parallel.AXIS)))
    got, (gu, gv) = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1)))(
        params["u"], v, batch.targets, batch.contexts, batch.mask)
    report[devices] = {
        "loss_error": abs(float(got) - float(want)) / abs(float(want)),
        "grad_u_error": float(jnp.abs(gu - want_grad["u"]).max()),
        "grad_v_error": float(jnp.abs(gv - want_grad["v"]).max()),
        "v_grad_sharded": len(gv.sharding.device_set) == devices}
  # Padding rows past ``size`` (junk values) take no part: 61 real rows padded to 64.
  size = 61
  small = {"u": params["u"][:size], "v": params["v"][:size]}
  clipped = batch._replace(targets=batch.targets % size, contexts=batch.contexts % size)
  want = skipgram.full_softmax_loss(small, {}, clipped)
  topology = parallel.make_topology(4)
  v = jax.device_put(params["v"], NamedSharding(topology.mesh, P(parallel.AXIS)))
  got = jax.jit(sharded_softmax.vocab_sharded_softmax_loss(topology, size))(
      small["u"][clipped.targets], v, clipped.contexts, clipped.mask)
  report["padded"] = {"loss_error": abs(float(got) - float(want)) / abs(float(want))}
  json.dump(report, sys.stdout)


if __name__ == "__main__":
  main()
