"""Jinja2 templates of the plan documents, their index and the payout statements.

Autoescaping is on: rep names, territory ids, plan names and notes are text, never markup.
Pages are self-contained (inline CSS, images as base64 data URIs) and printable (a print
stylesheet: no navigation, no backgrounds, sections kept on one page where possible).
"""

from __future__ import annotations

import jinja2

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)
ENV.filters["money"] = lambda v, cur="": "n/a" if v is None else f"{cur} {float(v):,.2f}".strip()
ENV.filters["pct"] = lambda v, d=0: "n/a" if v is None else f"{float(v) * 100:.{d}f} %"
ENV.filters["cents"] = lambda v: "" if v is None else f"{float(v):.2f}"

STYLE = """
body {font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px auto;
      max-width: 900px; color: #1b1b1b; padding: 0 16px; line-height: 1.4;}
h1 {margin-bottom: 2px;} h2 {margin-top: 26px; font-size: 1.15em; border-bottom: 1px solid #ddd;}
.sub {color: #555;} .small {font-size: 0.85em;}
table {border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 0.95em;}
th, td {border-bottom: 1px solid #e1e4e8; padding: 5px 8px; text-align: right; vertical-align: top;}
th {background: #f3f6f9;} th.l, td.l {text-align: left;}
.tag {display: inline-block; border-radius: 4px; padding: 1px 6px; font-size: 0.85em;}
.approved, .accepted {background: #e2f0d9;} .draft, .not-accepted {background: #eee;}
.changed {background: #fff2cc;} .unverified {background: #f4b6b0;} .warn {background: #fde9e7; padding: 6px 10px;}
.grid {display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start;}
.figs td {font-size: 1.05em;} img {max-width: 100%;}
footer {margin-top: 32px; color: #666; font-size: 0.8em; border-top: 1px solid #ddd; padding-top: 6px;}
nav {margin-bottom: 10px;}
@media print {
  nav, .noprint {display: none;}
  body {margin: 0; max-width: none; font-size: 10.5pt;}
  th {background: none;} .tag {border: 1px solid #999; background: none;}
  section {break-inside: avoid; page-break-inside: avoid;}
  a {color: inherit; text-decoration: none;}
  @page {size: A4; margin: 15mm;}
}
"""

DOC = ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="spm-content-hash" content="{{ content_hash }}">
<meta name="spm-document-hash" content="{{ document_hash }}">
<meta name="spm-scenario" content="{{ scenario }}">
<meta name="spm-rep" content="{{ d.rep_id }}">
<title>Plan document — {{ d.name }}</title><style>{{ style|safe }}</style></head>
<body>
<nav class="noprint"><a href="index.html">all plan documents</a></nav>
<h1 id="rep-name">{{ d.name }}</h1>
<div class="sub">Plan document · rep <span id="rep-id">{{ d.rep_id }}</span> · role
<span id="role">{{ d.role }}</span> · scenario {{ scenario }}
· <span class="tag {{ approval.state }}" id="approval">{{ approval.label }}</span></div>

<section id="expected">
<h2>What the scenario expects</h2>
<table class="figs"><tbody>
<tr><td class="l">Your plan-year quota</td><td id="quota-annual" data-value="{{ d.annual_quota|cents }}">{{ d.annual_quota|money(cur) }}</td></tr>
<tr><td class="l">Earnings at 100 % of quota</td><td id="earn-at-quota" data-value="{{ d.at_quota|cents }}">{{ d.at_quota|money(cur) }}</td></tr>
<tr><td class="l">Expected plan-year earnings, P10 (9 in 10 outcomes are higher)</td><td id="earn-p10" data-value="{{ d.earnings_p10|cents }}">{{ d.earnings_p10|money(cur) }}</td></tr>
<tr><td class="l">Expected plan-year earnings, P50 (median)</td><td id="earn-p50" data-value="{{ d.earnings_p50|cents }}">{{ d.earnings_p50|money(cur) }}</td></tr>
<tr><td class="l">Expected plan-year earnings, P90 (1 in 10 outcomes are higher)</td><td id="earn-p90" data-value="{{ d.earnings_p90|cents }}">{{ d.earnings_p90|money(cur) }}</td></tr>
<tr><td class="l">Chance of reaching your quota</td><td id="p-reach" data-value="{{ '%.6f'|format(d.p_reach_quota) }}">{{ d.p_reach_quota|pct }}</td></tr>
</tbody></table>
<p class="sub small">From {{ n_draws }} simulated plan years of the scenario's revenue forecast,
paid under your plan. Earnings include bonuses; a draw is not counted as earnings.</p>
</section>

<section id="quota">
<h2>Your quota</h2>
{% for block in d.quota_periods %}
<table class="quota" data-quota-period="{{ block.period }}"><thead><tr><th class="l">{{ block.title }}</th><th>Quota</th></tr></thead><tbody>
{% for label, value in block.rows %}<tr><td class="l">{{ label }}</td><td data-value="{{ value|cents }}">{{ value|money(cur) }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}
</section>

<section id="curve">
<h2>Your pay curve</h2>
<img id="pay-curve" alt="Pay curve: plan-year earnings against attainment, your quota marked" src="data:image/svg+xml;base64,{{ curve_img }}">
<p class="sub small">Plan-year earnings if you reach a given share of your quota evenly through
the year. The red dot is 100 % of your quota; the shaded band is the scenario's P10–P90 range
of your attainment ({{ d.attainment_p10|pct }} – {{ d.attainment_p90|pct }}).</p>
</section>

<section id="plan">
<h2>Your plan in plain words</h2>
{% for sec in words %}
<h3>{{ sec.title }}</h3>
<ul>{% for s in sec.sentences %}<li>{{ s }}</li>{% endfor %}</ul>
{% endfor %}
</section>

<section id="territory">
<h2>Your territory</h2>
<div class="grid">
<div><p>Territory <b id="territory-id">{{ d.territory_id or 'none' }}</b><br>
{% if d.n_accounts is none %}<span id="n-accounts" data-value="">no accounts data</span>: the
scenario's data has no accounts table, so the territory's accounts and potential are not known.
{% else %}<span id="n-accounts" data-value="{{ d.n_accounts }}">{{ d.n_accounts }}</span> account{{ '' if d.n_accounts == 1 else 's' }}{% if d.potential is not none %},
total potential {{ d.potential|money(cur) }}{% endif %}.{% endif %}</p></div>
{% if map_img %}<img id="territory-map" alt="Map of the territory's accounts" src="data:image/svg+xml;base64,{{ map_img }}">{% endif %}
</div>
</section>

<footer id="provenance">Scenario {{ scenario }} · scenario hash {{ prov.scenario_hash }} · data hash
{{ prov.data_hash }} · seed {{ prov.seed }} · spm-workbench {{ prov.package_version }} ·
document hash {{ content_hash[:16] }} · {{ approval.label }}</footer>
</body></html>
""")

INDEX = ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Plan documents — {{ scenario }}</title><style>{{ style|safe }}</style></head>
<body>
<h1>Plan documents</h1>
<div class="sub">Scenario {{ scenario }} · <span class="tag {{ approval.state }}" id="approval">{{ approval.label }}</span>
· {{ docs|length }} documents · <span id="n-accepted">{{ counts.accepted }}</span> accepted ·
<span id="n-not-accepted">{{ counts['not accepted'] }}</span> not accepted ·
<span id="n-changed">{{ counts.changed }}</span> changed since acceptance</div>
{% if ledger_problem %}<p class="warn" id="ledger-problem">{{ ledger_problem }}</p>{% endif %}
<table id="docs"><thead><tr><th class="l">Rep</th><th class="l">Name</th><th class="l">Role</th>
<th class="l">Territory</th><th>Plan-year quota</th><th>Earnings P50</th><th>P(reach quota)</th>
<th class="l">Acceptance</th></tr></thead><tbody>
{% for r in docs %}
<tr data-rep="{{ r.rep_id }}" data-state="{{ r.acceptance.state }}">
<td class="l"><a href="{{ r.file_name }}">{{ r.rep_id }}</a></td><td class="l">{{ r.name }}</td>
<td class="l">{{ r.role }}</td><td class="l">{{ r.territory_id }}</td>
<td class="quota" data-value="{{ r.annual_quota|cents }}">{{ r.annual_quota|money(r.currency) }}</td>
<td class="p50" data-value="{{ r.earnings_p50|cents }}">{{ r.earnings_p50|money(r.currency) }}</td>
<td>{{ r.p_reach_quota|pct }}</td>
<td class="l"><span class="tag {{ r.acceptance.state|replace(' ', '-') }}">{{ r.acceptance.label }}</span></td>
</tr>
{% endfor %}
</tbody></table>
<footer>Scenario hash {{ prov.scenario_hash }} · data hash {{ prov.data_hash }} · seed {{ prov.seed }}
· spm-workbench {{ prov.package_version }}</footer>
</body></html>
""")
