"""The reference design, reproduced for comparison (see :mod:`bench.reference.app`)."""
