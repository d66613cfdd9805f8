"""SPM Workbench: sales performance management modeling under uncertainty.

Everything is a scenario cube: an :class:`xarray.Dataset` with dimensions
``scenario × rep × period × draw`` (see :mod:`spm_models.cube`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spm-workbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

# the ``.spm`` accessors on xarray objects are registered on ``import spm_models``
from spm_models import cube as _cube  # noqa: E402,F401

__all__ = ["__version__"]
