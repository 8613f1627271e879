"""tidings: a workflow engine that tells other systems what happened."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
