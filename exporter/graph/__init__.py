"""From a PyTorch encoder to one validated ONNX graph per depth."""
