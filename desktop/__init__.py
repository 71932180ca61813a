"""Tessera: a desktop studio for seamless repeat patterns.

Kept import-light on purpose: the window's start-up path imports this package.
"""

__version__ = "0.1.0"
