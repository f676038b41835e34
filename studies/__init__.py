"""The studies behind docs/benchmarks.md, and their results/: not part of any command or wheel."""
