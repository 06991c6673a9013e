"""Benchmarks (run with `make bench`): the project against the reference tools, side by side."""
