"""Helpers shared by tests and benchmarks: real servers started on loopback and stopped by PID."""
