"""Benchmarks: `make bench` runs them all, prints their figures and writes bench/results.json."""
