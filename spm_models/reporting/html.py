"""HTML output: code-free report pages (nbconvert), ``index.html`` and ``compare.html``.

Report pages come from the executed notebook through nbconvert's ``lab`` template with
inputs and prompts excluded and the MathJax/RequireJS CDN scripts removed, so a page is
self-contained (figures are inline base64 PNGs). ``index.html`` and ``compare.html`` are
rendered with Jinja2 autoescaping: scenario names, titles and error messages are text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from spm_models.atomic import atomic_write_text
from spm_models.masking import redact
from spm_models.names import href, is_valid_name
from spm_models.plots.report import money

#: nbconvert template: the lab template without CDN scripts (no MathJax, RequireJS, Mermaid or
#: widget manager); :func:`strip_remote_scripts` removes anything remote that remains.
_NB_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{% block markdowncell scoped %}
<div {{ cell_id_anchor(cell) }} class="jp-Cell jp-MarkdownCell jp-Notebook-cell">
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput spm-narrative" data-mime-type="text/markdown">
{{ cell.source | markdown2html | strip_files_prefix }}
</div>
</div>
{%- endblock markdowncell %}
"""


_atomic_write = atomic_write_text


def notebook_to_html(ipynb: str | Path, html_out: str | Path, title: str | None = None) -> Path:
    """Render an executed notebook as code-free, self-contained HTML (``--no-input``)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    nb.metadata.pop("widgets", None)  # executive reports are widget-free
    for cell in nb.cells:  # warnings and logs on stderr are for analysts, not executives
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(
        template_name="lab", extra_loaders=[jinja2.DictLoader({"spm_report.html.j2": _NB_TEMPLATE})],
        template_file="spm_report.html.j2", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True, embed_images=True,
    )
    name = title or _notebook_title(nb) or Path(ipynb).stem
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    out = Path(html_out)
    _atomic_write(out, strip_remote_scripts(body))
    return out


_SCRIPT_RE = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_REMOTE_RE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|import\s*(?:\(|[^;]*?from)\s*["'](?:https?:)?//""",
                        re.IGNORECASE)
_LINK_RE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)


def strip_remote_scripts(html: str) -> str:
    """``html`` without ``<script>`` elements that load or import remote code and without
    ``<link>`` elements that fetch remote resources (reports must work offline)."""
    def drop(m: re.Match[str]) -> str:
        return "" if _REMOTE_RE.search(m.group(0)) else m.group(0)

    return _LINK_RE.sub(drop, _SCRIPT_RE.sub(drop, html))


def _notebook_title(nb: Any) -> str | None:
    params = {}
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            for line in cell.source.splitlines():
                if line.startswith("scenario_name") and "=" in line:
                    params["name"] = line.split("=", 1)[1].strip().strip("\"'")
    return f"Scenario report — {params['name']}" if params.get("name") else None


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
_ENV.filters["money"] = lambda v: "n/a" if v is None else money(float(v))
_ENV.filters["pct"] = lambda v, d=0: "n/a" if v is None else f"{float(v):.{d}%}"

_PAGE_STYLE = """
body {font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px auto;
      max-width: 1150px; color: #1b1b1b; padding: 0 16px;}
h1 {margin-bottom: 4px;} .sub {color: #555;}
table {border-collapse: collapse; width: 100%; margin-top: 12px; font-size: 0.95em;}
th, td {border-bottom: 1px solid #e1e4e8; padding: 7px 10px; text-align: right; vertical-align: top;}
th {background: #f3f6f9;} th.l, td.l {text-align: left;}
.fail {background: #fde9e7;} .err {color: #a4262c; font-family: monospace; font-size: 0.9em; white-space: pre-line;}
.tag {display: inline-block; border-radius: 4px; padding: 1px 6px; font-size: 0.8em;}
.approved {background: #e2f0d9;} .draft {background: #eee;} .changed {background: #fff2cc;}
.failed {background: #f4b6b0;}
a {color: #1f4e79;}
img {max-width: 100%;}
"""

_INDEX = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SPM scenario reports</title><style>{{ style|safe }}</style></head>
<body>
<h1>Scenario reports</h1>
{% if interrupted %}<p class="fail" id="interrupted"><b>This run was interrupted</b> (Ctrl-C or a stop signal):
scenarios marked INTERRUPTED were not rendered in this run.</p>{% endif %}
<div class="sub">{{ runs|length }} scenario{{ 's' if runs|length != 1 }} ·
{{ n_ok }} rendered{% if n_failed %} · <b>{{ n_failed }} failed</b>{% endif %}
{% if has_compare and not interrupted %} · <a href="compare.html">compare scenarios side by side</a>{% endif %}</div>
<table id="scenarios">
<thead><tr><th class="l">Scenario</th><th>Revenue P50</th><th>Revenue P10–P90</th>
<th>P(company target)</th><th>Incentive cost P50</th><th>Cost of sales</th>
<th>Reps at quota</th><th class="l">Status</th><th class="l">Files</th></tr></thead>
<tbody>
{% for r in runs %}
{% if r.ok %}{% set s = r.summary %}
<tr class="ok" data-scenario="{{ r.name }}">
<td class="l"><a href="{{ r.link }}/report.html"><b>{{ r.name }}</b></a><br><span class="sub">{{ r.title }}</span></td>
<td class="revenue-p50">{{ s.revenue.p50|money }}</td>
<td>{{ s.revenue.p10|money }} – {{ s.revenue.p90|money }}</td>
<td>{{ s.prob_company_target|pct }}</td>
<td class="cost-p50">{{ s.incentive_cost.p50|money }}</td>
<td>{{ s.cost_of_sales.p50|pct(1) }}</td>
<td>{{ s.share_reps_at_quota.p50|pct }}</td>
<td class="l">{% if r.approval %}<span class="tag {{ r.approval.state }}">{{ r.approval.label }}</span>{% else %}<span class="tag draft">rendered</span>{% endif %}</td>
<td class="l"><a href="{{ r.link }}/report.html">report</a> · <a href="{{ r.link }}/report.ipynb">notebook</a>
· <a href="{{ r.link }}/summary.json">summary.json</a> · <a href="{{ r.link }}/cube.zarr/">cube.zarr</a></td>
</tr>
{% else %}
<tr class="fail" data-scenario="{{ r.name }}">
<td class="l"><b>{{ r.name }}</b><br><span class="sub">{{ r.source }}</span></td>
<td colspan="6" class="l"><span class="tag failed">{{ "INTERRUPTED" if r.interrupted else "FAILED" }}</span> <span class="err">{{ r.error }}</span></td>
<td class="l">{{ "interrupted" if r.interrupted else "failed" }}</td><td class="l">{% if r.has_notebook %}<a href="{{ r.link }}/report.ipynb">notebook{{ " (previous run)" if r.interrupted else "" }}</a>{% elif r.failed_notebook %}<a href="{{ r.failed_notebook }}">notebook (partial)</a>{% endif %}</td>
</tr>
{% endif %}
{% endfor %}
</tbody></table>
<p class="sub">Revenue is plan-year bookings; ranges are P10–P90 of the simulated outcomes.
Cost of sales is (the incentive cost of every plan + the managers and SEs the planned hires
need, base and on-target incentive) ÷ revenue, the median over the simulated years — the same
figure as each report's executive summary, so it can differ from the incentive cost column ÷
revenue.</p>
</body></html>
""")

_COMPARE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scenario comparison</title><style>{{ style|safe }}</style></head>
<body>
<h1>Scenario comparison</h1>
<div class="sub"><a href="index.html">all reports</a>{% if failed %} · not compared (failed):
{% for f in failed %}{{ f.name }}{{ ", " if not loop.last }}{% endfor %}{% endif %}</div>
<table id="compare"><thead><tr>{% for c in columns %}<th{% if loop.first %} class="l"{% endif %}>{% if not loop.first and links[c] %}<a href="{{ links[c] }}/report.html">{{ c }}</a>{% else %}{{ c }}{% endif %}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for v in row %}<td{% if loop.first %} class="l"{% endif %}>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% for img in images %}<p><img alt="{{ img.alt }}" src="data:image/png;base64,{{ img.data }}"></p>{% endfor %}
</body></html>
""")


#: files a rendered scenario folder must hold for the index to call it ``ok``
REQUIRED = ("report.html", "report.ipynb", "summary.json", "cube.zarr")


def _link(name: str) -> str | None:
    return href(name) if is_valid_name(name) else None


def write_index(out_dir: str | Path, runs: Sequence[Any], interrupted: bool = False) -> Path:
    """``index.html``: every scenario with its headline figures, or its failure and reason.

    The index only claims what is on disk: a scenario whose folder lacks one of
    :data:`REQUIRED` is listed as failed. Links are relative and percent-escaped
    (:func:`spm_models.names.href`); error lines are masked (:func:`spm_models.masking.redact`).
    ``interrupted`` adds a banner saying the run was interrupted."""
    out = Path(out_dir)
    views = []
    for r in runs:
        v = dict(vars(r))
        v.setdefault("interrupted", False)
        v["link"] = _link(r.name)
        folder = out / r.name if v["link"] else None
        if r.ok and (folder is None or not all((folder / f).exists() for f in REQUIRED)):
            v["ok"], v["error"] = False, "outputs missing on disk"
        v["has_notebook"] = folder is not None and (folder / "report.ipynb").exists()
        v["failed_notebook"] = (f"{v['link']}.failed.ipynb" if v["link"] and not v["ok"]
                                and (out / f"{r.name}.failed.ipynb").exists() else None)
        if v.get("error"):
            v["error"] = redact(str(v["error"]))
        v["source"] = redact(str(v.get("source", "")))
        views.append(v)
    n_ok = sum(1 for v in views if v["ok"])
    html = _INDEX.render(style=_PAGE_STYLE, runs=views, n_ok=n_ok, n_failed=len(views) - n_ok,
                         has_compare=len(runs) >= 2, interrupted=interrupted)
    path = out / "index.html"
    _atomic_write(path, html)
    return path


def write_compare(out_dir: str | Path, summaries: Sequence[dict[str, Any]],
                  failed: Sequence[Any] = ()) -> Path:
    """``compare.html``: the scenarios' figures side by side with range charts."""
    import base64
    import io

    from spm_models.plots.report import scenario_intervals
    from spm_models.reporting.compare import comparison_frame

    columns: list[str] = ["figure"]
    rows: list[list[str]] = []
    images = []
    if summaries:
        df = comparison_frame(summaries)
        columns = [str(c) for c in df.columns]
        rows = df.astype(str).values.tolist()
        for key, title in (("revenue", "Plan-year revenue"), ("incentive_cost", "Incentive cost")):
            fig = scenario_intervals(summaries, key, title)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)
            images.append({"alt": title, "data": base64.b64encode(buf.getvalue()).decode()})
    links = {c: _link(c) for c in columns}
    html = _COMPARE.render(style=_PAGE_STYLE, columns=columns, rows=rows, images=images,
                           failed=failed, links=links)
    path = Path(out_dir) / "compare.html"
    _atomic_write(path, html)
    return path
