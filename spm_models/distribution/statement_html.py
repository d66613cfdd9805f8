"""Templates of the payout statements and their index (autoescaped, printable)."""

from __future__ import annotations

from spm_models.distribution.templates import ENV

STATEMENT = ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Statement — {% if v.name %}{{ v.name }} ({{ v.rep_id }}){% else %}{{ v.rep_id }}{% endif %} — {{ v.label }}</title><style>{{ style|safe }}</style></head>
<body>
<nav class="noprint"><a href="index.html">all statements</a></nav>
<h1>Payout statement</h1>
<div class="sub">Rep {% if v.name %}<b id="rep-name">{{ v.name }}</b> ({% endif %}<b id="rep-id">{{ v.rep_id }}</b>{% if v.name %}){% endif %} · plan {{ v.plan }} · payout period
<b id="period" data-period="{{ v.period }}">{{ v.label }}</b></div>

<section id="summary">
<h2>This period</h2>
<table class="figs"><tbody>
<tr><td class="l"><b>Payout</b></td><td id="payout" data-value="{{ v.payout|cents }}"><b>{{ v.payout|money(v.currency) }}</b></td></tr>
<tr><td class="l">Paid in the plan year to date (this payout included)</td><td id="ytd" data-value="{{ v.ytd|cents }}">{{ v.ytd|money(v.currency) }}</td></tr>
<tr><td class="l">Earned in the plan year to date</td><td id="earned-to-date" data-value="{{ v.earned_to_date|cents }}">{{ v.earned_to_date|money(v.currency) }}</td></tr>
<tr><td class="l">Earned this period</td><td id="earned-this-period" data-value="{{ v.earned_this_period|cents }}">{{ v.earned_this_period|money(v.currency) }}</td></tr>
</tbody></table>
</section>

{% if v.credits is not none %}
<section id="credits">
<h2>Credits</h2>
<table><thead><tr><th class="l">Measure</th><th>This payout period</th><th>Plan year to date</th></tr></thead><tbody>
{% for m, this, ytd in v.credits %}<tr><td class="l">{{ m }}</td><td data-value="{{ this|cents }}">{{ this|money(v.currency) }}</td><td data-value="{{ ytd|cents }}">{{ ytd|money(v.currency) }}</td></tr>
{% endfor %}</tbody></table>
</section>
{% endif %}

<section id="attainment">
<h2>Attainment</h2>
<table><thead><tr><th class="l">Measure</th><th>Attainment as of {{ v.period }} (in its quota period)</th></tr></thead><tbody>
{% for m, a in v.attainment %}<tr><td class="l">{{ m }}</td><td data-value="{{ '' if a is none or a != a else '%.6f'|format(a) }}">{{ 'no quota' if a is none or a != a else a|pct(1) }}</td></tr>
{% endfor %}</tbody></table>
</section>

<section id="earnings">
<h2>Earnings by measure</h2>
{% if v.earnings is not none %}
<table><thead><tr><th class="l">Measure</th><th class="l">Part</th><th>This period</th><th>Plan year to date</th></tr></thead><tbody>
{% for e in v.earnings %}<tr class="earning"><td class="l">{{ e.measure }}</td><td class="l">{{ e.part }}</td>
<td data-value="{{ e.this_period|cents }}">{{ e.this_period|money(v.currency) }}</td><td data-value="{{ e.to_date|cents }}">{{ e.to_date|money(v.currency) }}</td></tr>
{% endfor %}
<tr><td class="l"><b>Total earned</b></td><td></td><td>{{ v.earned_this_period|money(v.currency) }}</td><td>{{ v.earned_to_date|money(v.currency) }}</td></tr>
</tbody></table>
{% else %}
<p class="sub">The breakdown by measure and tier is computed when the quotas file is given
(<code>--credits</code> and <code>--quotas</code>, the files given to <code>spm comp calc</code>).</p>
{% endif %}
</section>

<section id="payout-calc">
<h2>From earnings to payout</h2>
<table><tbody>
<tr><td class="l">Earned in the plan year to date</td><td>{{ v.earned_to_date|money(v.currency) }}</td></tr>
<tr><td class="l">less: counted as paid in earlier periods{% if v.draw and not v.draw.recoverable %} (non-recoverable draw top-ups excluded){% endif %}</td><td id="counted-before" data-value="{{ v.counted_before|cents }}">{{ v.counted_before|money(v.currency) }}</td></tr>
<tr><td class="l">= due this period{% if v.due < 0 %} (negative: a clawback, carried forward){% endif %}</td><td id="due" data-value="{{ v.due|cents }}">{{ v.due|money(v.currency) }}</td></tr>
{% if v.draw %}<tr><td class="l">Draw top-up (the draw guarantees {{ v.draw.amount|money(v.currency) }}; {{ 'recoverable' if v.draw.recoverable else 'not recoverable' }})</td><td id="draw-topup" data-value="{{ v.draw_topup|cents }}">{{ v.draw_topup|money(v.currency) }}</td></tr>{% endif %}
<tr><td class="l">Recovered from earlier draws or clawbacks</td><td id="recovered" data-value="{{ v.recovered|cents }}">{{ v.recovered|money(v.currency) }}</td></tr>
<tr><td class="l">Balance carried forward (paid above earnings, to be recovered)</td><td id="balance" data-value="{{ v.balance|cents }}">{{ v.balance|money(v.currency) }}</td></tr>
{% if v.forgiven %}<tr><td class="l">Forgiven at the end of the plan year</td><td id="forgiven" data-value="{{ v.forgiven|cents }}">{{ v.forgiven|money(v.currency) }}</td></tr>{% endif %}
<tr><td class="l"><b>Payout</b></td><td><b>{{ v.payout|money(v.currency) }}</b></td></tr>
</tbody></table>
</section>

<footer>Payout, earned to date and attainment as in {{ prov.payouts }} ({{ prov.payouts_hash }}),
the output of <code>spm comp calc</code>; breakdown by the same comp engine. Plan {{ prov.plan }}
({{ prov.plan_hash }}){% if prov.credits %} · credits {{ prov.credits }} ({{ prov.credits_hash }}){% endif %}{% if prov.quotas_hash %} · quotas ({{ prov.quotas_hash }}){% endif %}.</footer>
</body></html>
""")

INDEX = ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Payout statements — {{ plan }}</title><style>{{ style|safe }}</style></head>
<body>
<h1>Payout statements</h1>
<div class="sub">Plan {{ plan }} · {{ views|length }} statements</div>
<table id="statements"><thead><tr><th class="l">Rep</th><th class="l">Name</th><th class="l">Period</th><th>Payout</th><th>Paid to date</th><th>Earned to date</th></tr></thead><tbody>
{% for v in views %}<tr><td class="l"><a href="{{ v.file_name }}">{{ v.rep_id }}</a></td><td class="l">{{ v.name or '' }}</td><td class="l">{{ v.label }}</td>
<td>{{ v.payout|money(v.currency) }}</td><td>{{ v.ytd|money(v.currency) }}</td><td>{{ v.earned_to_date|money(v.currency) }}</td></tr>
{% endfor %}</tbody></table>
<footer>From {{ prov.payouts }} ({{ prov.payouts_hash }}) and plan {{ prov.plan }} ({{ prov.plan_hash }}).</footer>
</body></html>
""")
