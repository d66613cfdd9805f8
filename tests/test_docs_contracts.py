"""The contracts in docs/ are the project's contracts, word for word.

``docs/plan_format.md`` (the comp plan format, parts 1 and 2) and ``docs/contracts.md`` (the
data contract and the command-line contract) are copies of the contract texts the project is
held to. The copies are pinned by hash below, so an edit to either copy fails here; where the
upstream contract folder is present (``$SPM_CONTRACTS_DIR``, or ``../shared`` beside the
checkout, as on a developer's machine), its text must also match the pinned hash, so a change
upstream fails here until the copy is refreshed.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: sha256 of the contract texts (fence info strings normalised, header comment removed).
PINNED = {
    "plan_format": "14a9f67d984f2e09afd198a20668990d6179bed68ec186f0970b84baa3b2da88",
    "data_contract": "6196e34b3cce245dc826a01cadffb5f6f009f78f2644d7286627f8759768bb04",
    "command_line": "6cee4f7fa1ed782d797b40964c3ddd45ecce413c6af43b4fa85692fee517e5a0",
}


def _normalise(text: str) -> str:
    text = re.sub(r"<!--.*?-->\n*", "", text, flags=re.DOTALL)
    text = re.sub(r"^```[a-z]*$", "```", text, flags=re.MULTILINE)
    return text.strip() + "\n"


def _digest(text: str) -> str:
    return hashlib.sha256(_normalise(text).encode()).hexdigest()


def _section(text: str, heading: str) -> str:
    i = text.index(heading)
    j = text.find("\n## ", i + len(heading))
    return text[i: j if j != -1 else len(text)]


def _docs_texts() -> dict[str, str]:
    contracts = (DOCS / "contracts.md").read_text()
    return {
        "plan_format": (DOCS / "plan_format.md").read_text(),
        "data_contract": _section(contracts, "## Data contract (**contract**)"),
        "command_line": _section(contracts, "## Command line (**contract**"),
    }


def _upstream() -> Path | None:
    env = os.environ.get("SPM_CONTRACTS_DIR")
    cand = Path(env) if env else ROOT.parent / "shared"
    return cand if (cand / "DESIGN.md").is_file() else None


@pytest.mark.parametrize("name", sorted(PINNED))
def test_docs_copy_matches_pinned_contract(name: str) -> None:
    assert _digest(_docs_texts()[name]) == PINNED[name], (
        f"docs copy of the {name} contract changed: refresh it from the contract and the hash")


def test_contract_copies_are_complete() -> None:
    plan = (DOCS / "plan_format.md").read_text()
    for heading in ("## Rules", "## Worked examples", "## Crediting", "## Pay curves",
                    "## Modifiers", "## Advance caps", "## Worked examples, part 2"):
        assert heading in plan
    contracts = (DOCS / "contracts.md").read_text()
    for table in ("`reps`", "`bookings`", "`quotas`", "`accounts`", "`opportunities`",
                  "`opportunity_history`"):
        assert table in contracts
    for cmd in ("spm data demo", "spm data validate", "spm comp calc", "spm comp credit",
                "spm forecast backtest", "spm forecast pipeline", "spm report"):
        assert cmd in contracts


def test_upstream_contract_unchanged_where_present() -> None:
    up = _upstream()
    if up is None:  # a clean clone has no upstream folder: the pinned hashes above still hold
        return
    design = (up / "DESIGN.md").read_text()
    texts = {
        "plan_format": (up / "spec" / "comp_plan.md").read_text(),
        "data_contract": _section(design, "## Data contract (**contract**)"),
        "command_line": _section(design, "## Command line (**contract**"),
    }
    for name, text in texts.items():
        assert _digest(text) == PINNED[name], f"upstream {name} contract changed: refresh docs/"
