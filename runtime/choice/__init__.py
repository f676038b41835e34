"""The runtime's choice of (depth, dims, precision, backend) for a budget.

And the measurements it rests on: the device profile, measured once and cached.
"""
