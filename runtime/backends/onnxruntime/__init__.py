"""ONNX Runtime as a backend: its CPU, CUDA and TensorRT execution providers (loader:
:mod:`.session_start`, runner: :mod:`.session`)."""
