"""Benchmarks and load tests; each prints a table and the machine it ran on."""
