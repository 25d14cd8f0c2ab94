"""Shared metrics, registered through the ``attrbench.metrics`` entry points."""
