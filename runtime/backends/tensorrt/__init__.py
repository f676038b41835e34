"""Native TensorRT engines as a runtime backend: ``tensorrt`` is imported only when asked for."""
