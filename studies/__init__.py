"""One-off studies behind the figures in the README and results/: not part of any command."""
