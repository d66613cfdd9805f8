"""What-if workbench: ipywidgets controls that re-run the comp simulation on a cached cube.

* :class:`WhatIf` (:mod:`~spm_models.widgets.model`) — the computation, no widgets:
  :meth:`WhatIf.compute` gives the decision figures under what-if settings (quota uplift,
  accelerator, cap, threshold, hires, plan), :meth:`WhatIf.pay_curve` the selected plan's
  pay curve; benchmarked in ``benchmarks/bench_widgets.py``; invalid settings raise
  :class:`~spm_models.errors.InputError`, settings that change nothing warn
  (:class:`WhatIfWarning`, :mod:`~spm_models.widgets.settings`);
* :mod:`~spm_models.widgets.charts` — the panel's charts as HTML/SVG;
* :class:`WhatIfPanel` (:mod:`~spm_models.widgets.panel`) — sliders, a plan dropdown,
  key-figure cards, two histograms and the pay curve, for notebooks.
"""

from spm_models.widgets.charts import figures_html, pay_curve_html
from spm_models.widgets.model import (
    WhatIf,
    WhatIfFigures,
    accelerator_rate,
    modify_plan,
    plan_choices,
)
from spm_models.widgets.panel import WhatIfPanel
from spm_models.widgets.settings import WhatIfWarning

__all__ = ["WhatIf", "WhatIfFigures", "WhatIfPanel", "WhatIfWarning", "accelerator_rate", "figures_html",
           "modify_plan", "pay_curve_html", "plan_choices"]
