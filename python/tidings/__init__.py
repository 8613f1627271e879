"""tidings: a workflow engine that tells other systems what happened."""

from __future__ import annotations

from importlib.metadata import version

# One source: Cargo.toml's [workspace.package] version, which maturin writes into the
# package metadata (wheel and `maturin develop` alike). tidings does not run without
# being installed (tidings._codec exists only in an installed build), so there is no
# fallback for a missing distribution.
__version__ = version("tidings")
__all__ = ["__version__"]
