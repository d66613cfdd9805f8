"""Distribution and execution: plan documents, acceptance, payout statements, adjustments.

- :mod:`.plan_docs` — ``spm plan-docs``: a plan document per quota-holding rep and an index.
- :mod:`.acceptance` — ``spm plan-docs accept``: hash-chained acceptances in the approvals store.
- :mod:`.statements` — ``spm comp statement``: a payout statement per rep and payout period.
- :mod:`.adjustments` — ``spm adjust``: managers' adjustments under review and
  :func:`~.adjustments.apply_adjustments`, their effect on the scenario world.
- :mod:`.plain_words` — a comp plan in plain words, generated from the plan object.
- :mod:`.world` — the one adapter to the scenario run.

Heavy imports (matplotlib, the pipeline) happen inside the modules that need them.
"""
