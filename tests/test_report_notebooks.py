"""The notebooks: papermill-ready, outputs stripped, narrative plus calls into spm_models only."""

from __future__ import annotations

import re

import nbformat
import pytest
from test_report_helpers import REPO

NOTEBOOKS = ["scenario_report.ipynb", "compare.ipynb", "workbench.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_parameterized_stripped_and_logic_free(name):
    nb = nbformat.read(str(REPO / "notebooks" / name), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert any(c.cell_type == "markdown" for c in nb.cells)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        assert not re.search(r"^\s*(def|class|for .* in range)\b", cell.source, re.MULTILINE)
        imports = re.findall(r"^(?:from|import)\s+([\w.]+)", cell.source, re.MULTILINE)
        assert all(m.split(".")[0] in ("spm_models", "IPython") for m in imports), imports
