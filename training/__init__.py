"""ese-train: ESE fine-tuning (learn-to-express + learn-to-compress) and its 2D Matryoshka peer.

Needs the ``export`` and ``bench`` extras (torch, transformers, sentence-transformers, scipy):
``pip install 'ese-toolchain[bench]'``.
"""
