"""The monitor's outputs: violations.json for machines, report.html for people.

report.html is one self-contained page: the verdict, every violation with the contract's or the
drift test's own words, each feature's drift score against its threshold as a bar, and the model's
metrics when ground truth was joined; drift-report.html beside it is Evidently's interactive
report of the same drift tests (each feature's distribution, training against traffic).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .checks import CHECKS, Violation
from .drift import FeatureDrift

VIOLATIONS_FILE = "violations.json"
REPORT_FILE = "report.html"
DRIFT_REPORT_FILE = "drift-report.html"

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2433;
background:#f4f6fa}
main{max-width:1100px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px}
.meta{color:#5b6478;font-size:13px}
.verdict{margin:20px 0;padding:16px 20px;border-radius:10px;font-size:17px;font-weight:600}
.ok{background:#e3f5ea;color:#14622f}.bad{background:#fde8e6;color:#9a1c10}
.cards{display:flex;gap:14px;flex-wrap:wrap}
.card{flex:1;min-width:180px;background:#fff;border-radius:10px;padding:14px 18px;
box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:26px}.card span{color:#5b6478;font-size:13px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;
box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:8px 12px;border-bottom:1px solid #eceff4;vertical-align:top}
th{background:#eef1f7;font-size:13px;color:#3b4458}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.tag{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600}
.tag.fail{background:#fde8e6;color:#9a1c10}.tag.pass{background:#e3f5ea;color:#14622f}
.bar{position:relative;height:10px;width:220px;background:#eceff4;border-radius:5px}
.bar i{position:absolute;left:0;top:0;bottom:0;border-radius:5px;background:#4c7bd9}
.bar i.fail{background:#d6463a}.bar u{position:absolute;top:-3px;bottom:-3px;width:2px;
background:#1d2433}
"""


def summary_counts(violations: list[Violation], checks: tuple[str, ...] = CHECKS) -> dict[str, int]:
    return {check: sum(v.check == check for v in violations) for check in checks}


def write_violations(path: Path, violations: list[Violation], summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"violations": [v.as_dict() for v in violations], **summary}
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _e(value: object) -> str:
    return html.escape(str(value))


def _bar(drift: FeatureDrift) -> str:
    # Scaled so that the threshold sits at a third of the bar.
    scale = 3 * drift.threshold
    width = min(100.0, 100 * drift.score / scale)
    mark = 100 * drift.threshold / scale
    state = "fail" if drift.drifted else ""
    return (
        f'<div class="bar"><i class="{state}" style="width:{width:.1f}%"></i>'
        f'<u style="left:{mark:.1f}%"></u></div>'
    )


def render(violations: list[Violation], summary: dict[str, Any], drifts: list[FeatureDrift]) -> str:
    counts = summary["checks"]
    features = sorted({v.feature_name for v in violations})
    verdict = (
        f"{len(violations)} violation{'s' if len(violations) != 1 else ''} in "
        f"{len(features)} feature{'s' if len(features) != 1 else ''}: {', '.join(features)}"
        if violations
        else "No violation: the traffic looks like the training data"
    )
    cards = "".join(
        f'<div class="card"><b>{counts[check]}</b>'
        f"<span>{check.replace('_', ' ')} violations</span></div>"
        for check in counts
    )
    cards += f'<div class="card"><b>{summary["rows"]:,}</b><span>rows checked</span></div>'
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>Monitoring report: {_e(summary['source'])}</title><style>{STYLE}</style></head>",
        "<body><main>",
        "<h1>Monitoring report</h1>",
        f'<div class="meta">{_e(summary["source"])} against the reference '
        f"{_e(summary['reference'])} ({summary['reference_rows']:,} training rows) &middot; "
        f"{_e(summary['created'])}</div>",
        f'<div class="verdict {"bad" if violations else "ok"}">{_e(verdict)}</div>',
        f'<div class="cards">{cards}</div>',
    ]
    if violations:
        parts.append(_violations_table(violations))
    if drifts:
        parts.append(_drift_table(drifts))
    quality = summary.get("model_quality")
    if quality is not None:
        parts.append(_quality_section(quality))
    if summary.get("unreadable_rows"):
        parts.append(
            f"<p class=meta>{summary['unreadable_rows']:,} captured rows had more values than "
            "the model's features and were counted as missing.</p>"
        )
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _violations_table(violations: list[Violation]) -> str:
    rows = "".join(
        f'<tr><td><span class="tag fail">{_e(v.check.replace("_", " "))}</span></td>'
        f"<td><b>{_e(v.feature_name)}</b></td><td>{_e(v.description)}</td></tr>"
        for v in violations
    )
    return (
        "<h2>Violations</h2><table><tr><th>Check</th><th>Feature</th><th>What was found"
        f"</th></tr>{rows}</table>"
    )


def _drift_table(drifts: list[FeatureDrift]) -> str:
    ordered = sorted(drifts, key=lambda d: d.score / d.threshold, reverse=True)
    rows = "".join(
        f"<tr><td><b>{_e(d.feature)}</b></td><td>{_e(d.method)}</td>"
        f'<td class="num">{d.score:.4g}</td><td class="num">{d.threshold}</td>'
        f"<td>{_bar(d)}</td><td>"
        f'<span class="tag {"fail" if d.drifted else "pass"}">'
        f"{'drifted' if d.drifted else 'stable'}</span></td></tr>"
        for d in ordered
    )
    return (
        "<h2>Drift per feature</h2><p class=meta>Distance of each feature's distribution in "
        "the traffic from the training data, largest first; the black mark is the threshold. "
        f'Distributions: <a href="{DRIFT_REPORT_FILE}">Evidently\'s report</a>.</p>'
        "<table><tr><th>Feature</th><th>Test</th><th>Distance</th><th>Threshold</th><th>"
        f"</th><th>Status</th></tr>{rows}</table>"
    )


def _quality_section(quality: dict[str, Any]) -> str:
    found = quality.get("metrics")
    if not found:
        note = quality.get("note", "no captured row has a label yet")
        return f"<h2>Model quality</h2><p class=meta>{_e(note)}</p>"
    rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{value:.4g}</td></tr>'
        for name, value in found.items()
        if isinstance(value, int | float)
    )
    return (
        f"<h2>Model quality</h2><p class=meta>{quality['labelled_rows']:,} captured rows joined "
        f"with ground truth; floor of {_e(quality.get('metric'))}: {_e(quality.get('floor'))}</p>"
        f"<table><tr><th>Metric</th><th>Value</th></tr>{rows}</table>"
    )


def write_report(path: Path, violations, summary, drifts) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(violations, summary, drifts), encoding="utf-8")
