"""Studies behind ese-train's recipe: selection, comparisons, projection studies."""
