"""A Triton Inference Server model repository from an export (``ese-triton``)."""
