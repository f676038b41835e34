"""Per-depth projections (the model's own order or a fitted PCA) and the export's quality grid."""
