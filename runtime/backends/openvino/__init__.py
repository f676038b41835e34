"""OpenVINO as a runtime backend: optional, imported only when asked for."""
