"""Latency and memory measurements: the profile loop and the backends it times."""
