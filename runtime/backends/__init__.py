"""What runs a graph: one folder per backend behind one runner protocol, and their registry."""
