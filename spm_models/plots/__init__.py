"""Matplotlib plots for reports and notebooks, one module per area.

Functions take labelled arrays (xarray) and return a :class:`matplotlib.figure.Figure`.
"""

import matplotlib

matplotlib.use("Agg", force=False)
