"""Quality grids (depth x dims) on the evaluation sets."""
