"""ese.benchmarks: ``ese-bench profile | quality | compare | report`` for ese exports.

Profiles (latency percentiles, throughput, peak memory per depth x batch x sequence length)
are written where the runtime's budget selection reads them, ``DIR/profiles/<device-id>.json``;
quality grids (STS-B, SciFact) go into the manifest; ``compare`` times the runtime against
sentence-transformers and bare ONNX Runtime in one run; ``report`` draws all of it.

The ONNX Runtime profile needs only the runtime; everything else needs the ``bench`` extra:
``pip install 'ese-toolchain[bench]'``.
"""

from __future__ import annotations
