"""Parity: a fairness dashboard for the management of performance concerns."""
