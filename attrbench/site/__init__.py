"""The static leaderboard site (``attrbench publish``): :func:`build_site`."""

from attrbench.site.build import build_site

__all__ = ["build_site"]
