"""A real Triton Inference Server on this machine through PyTriton (``ese-serve``)."""
