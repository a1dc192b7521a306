"""Upward sync: a site pushes its hash-chained journal to the province over HTTPS (issue 12)."""
