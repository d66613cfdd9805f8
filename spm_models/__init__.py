"""SPM Workbench: sales performance management modeling under uncertainty.

Everything is a scenario cube: an :class:`xarray.Dataset` with dimensions
``scenario × rep × period × draw`` (see :mod:`spm_models.cube`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spm-workbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
