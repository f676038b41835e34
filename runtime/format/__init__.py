"""The export format: the graph contract, the manifest, the export directory and device profiles.

The one layer the exporter writes and the runtime reads."""
