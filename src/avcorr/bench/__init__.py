"""Benchmarks: generalization on own forgeries, the wild benchmark on genuine forgeries, the machine description."""
