"""What runs a graph: ONNX Runtime sessions and their execution providers (CPU, CUDA, TensorRT)."""
