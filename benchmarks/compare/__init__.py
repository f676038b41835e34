"""``ese-bench compare``: the runtime against its peers in the same run."""
