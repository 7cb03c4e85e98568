"""``report.html``: the run for people, in one self-contained page (no scripts, no assets).

Read top to bottom it answers, in order: did the target pass; which profiles hold; what the
coverage matrix tested; what failed and the exact requests behind it; which documented
limitations are present; what did not run and why; and finally every scenario, folded per
feature.  Everything comes from :func:`conformance.report.document.to_document` (so it says
exactly what ``report.yaml`` says and is scrubbed the same way) and is escaped.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any

from conformance.outcomes import Outcome
from conformance.report.document import to_document
from conformance.report.redaction import scrub
from conformance.results import RunResult, ScenarioResult

NOT_TESTED = "—"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1em 2em; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em;
     margin-top: 2em; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .5em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; margin: .2em 0 .6em; }
code { font-size: .95em; }
.banner { padding: 1em 1.2em; border-radius: 6px; font-size: 1.15em; margin: 1em 0; }
.banner strong { font-size: 1.3em; margin-right: .6em; }
.verdict-pass { background: #dafbe1; border: 2px solid #1a7f37; }
.verdict-fail { background: #ffebe9; border: 2px solid #cf222e; }
.verdict-error { background: #fff1e5; border: 2px solid #bc4c00; }
.o { display: inline-block; padding: 0 .4em; border-radius: 4px; white-space: nowrap; }
.o-pass, .r-success { background: #dafbe1; color: #116329; }
.o-fail, .r-failure { background: #ffebe9; color: #a40e26; font-weight: bold; }
.o-error { background: #fff1e5; color: #953800; font-weight: bold; }
.o-skipped, .o-not-supported { background: #eaeef2; color: #57606a; }
.o-vulnerable { background: #ffebe9; color: #a40e26; font-weight: bold; }
.o-not-vulnerable { background: #dafbe1; color: #116329; }
.o-inconclusive { background: #eaeef2; color: #57606a; }
.r-partial { background: #fff8c5; color: #7d4e00; }
.o-limitation-present { background: #ddf4ff; color: #0550ae; }
.o-limitation-lifted { background: #fbefff; color: #8250df; }
.untested { color: #8c959f; text-align: center; }
.matrix td.api { background: #f6f8fa; font-weight: bold; }
.expected { color: #57606a; font-size: .85em; }
.failure { border-left: 4px solid #cf222e; padding-left: 1em; margin: 1.5em 0; }
.failure.error { border-left-color: #bc4c00; }
.exchange { margin: .6em 0 1em; }
.step-failed { color: #a40e26; font-weight: bold; } .step-skipped { color: #8c959f; }
.meta { color: #57606a; }
details { margin: .4em 0; } summary { cursor: pointer; font-weight: 600; }
"""


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def badge(outcome: str, prefix: str = "o") -> str:
    """An outcome (or a profile result) as a coloured label."""
    return f'<span class="o {prefix}-{e(outcome.replace(" ", "-"))}">{e(outcome)}</span>'


def _table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    """A table; ``rows`` hold HTML already escaped."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    klass = f' class="{e(css)}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pre(text: str) -> str:
    return f"<pre>{e(text)}</pre>"


def _header(doc: dict[str, Any]) -> str:
    summary, target, kfp = doc["summary"], doc["target"], doc["kfp"]
    facts = [
        ("Target", f"{target.get('name', '?')}" + (f" ({target['kind']})"
                                                    if target.get("kind") else "")),
        ("Mode", kfp["mode"]),
        ("KFP version", kfp["version"] or "unknown (the API server did not say)"),
        ("Endpoints", ", ".join(f"{k}: {v}" for k, v in (target.get("kfp") or {}).items())
         if isinstance(target.get("kfp"), dict) else ""),
        ("Started", doc["date"]),
        ("Duration", f"{doc['duration_seconds']:.1f} s"),
        ("Tool", f"{doc['tool']['name']} {doc['tool']['version']}"),
    ]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts if v)
    counts = " ".join(f"{badge(o)} {n}" for o, n in summary["counts"].items() if n)
    return (f'<div class="banner verdict-{e(summary["verdict"])}">'
            f'<strong>{e(summary["verdict"].upper())}</strong>{e(summary["line"])}</div>'
            f"<p>{counts}</p><table>{rows}</table>")


def _profiles(doc: dict[str, Any]) -> str:
    outcomes = [o.value for o in Outcome]
    rows = [[f"<b>{e(p['name'])}</b><br><span class=meta>{e(p['description'])}</span>",
             badge(p["result"], "r")]
            + [e(p["statistics"][o]) if p["statistics"][o] else "" for o in outcomes]
            for p in doc["profiles"]]
    features = doc["features"]
    parts = ["<h2>Profiles</h2>", _table(["profile", "result", *outcomes], rows),
             "<h3>Features</h3>"]
    listing = [
        ("supported", lambda f: ""),
        ("unsupported", lambda f: "; ".join(f["reasons"])),
        ("untested", lambda f: f["reason"]),
    ]
    rows = [[e(f["name"]), e(kind), e(f["description"]), e(f["scenarios"]), e(why(f))]
            for kind, why in listing for f in features[kind]]
    parts.append(_table(["feature", "status", "description", "scenarios", "why"], rows))
    return "".join(parts)


def _matrix(doc: dict[str, Any]) -> str:
    coverage = doc["coverage"]
    if not coverage["operations"] and not coverage["cells"]:
        return "<h2>Coverage matrix</h2><p>No matrix in this run.</p>"
    identities = list(coverage["identities"])
    identities += sorted({c["identity"] for c in coverage["cells"]} - set(identities))
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for cell in coverage["cells"]:
        cells[cell["api"], cell["operation_id"], cell["identity"]].append(cell)
    known = {(op["api"], op["operation_id"]) for op in coverage["operations"]}
    operations = list(coverage["operations"]) + [
        {"api": api, "operation_id": op_id, "method": "", "path": "", "covered": True,
         "note": ""}
        for api, op_id in sorted({(c["api"], c["operation_id"])
                                  for c in coverage["cells"]} - known)]
    by_api: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for op in operations:
        by_api[op["api"]].append(op)
    head = "".join(f"<th>{e(i)}</th>" for i in identities)
    body, uncovered = [], []
    for api in sorted(by_api):
        tested = [op for op in by_api[api]
                  if op["covered"]
                  or any((api, op["operation_id"], i) in cells for i in identities)]
        body.append(f'<tr><td class="api" colspan="{len(identities) + 1}">{e(api)}</td></tr>')
        for op in tested:
            row = [f"<code>{e(op['method'])} {e(op['path'])}</code><br>"
                   f"<span class=meta>{e(op['operation_id'])}</span>"]
            for identity in identities:
                found = cells.get((api, op["operation_id"], identity))
                if not found:
                    row.append(f'<span class="untested">{NOT_TESTED}</span>')
                    continue
                row.append("<br>".join(
                    f'<span title="{e(c["scenario"])}">{badge(c["outcome"])}'
                    f' <span class="expected">{e(c["expected"])}</span></span>'
                    for c in found))
            body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
        uncovered += [op for op in by_api[api] if op not in tested]
    parts = ["<h2>Coverage matrix</h2>",
             "<p class=meta>Each cell: the outcome, and what the spec expects for that identity "
             f"(allowed, denied, unauthenticated); {NOT_TESTED} not tested.</p>",
             f'<table class="matrix"><thead><tr><th>operation</th>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table>"]
    if uncovered:
        parts.append("<h3>Operations not covered</h3><ul>")
        parts += [f"<li>{e(op['api'])} <code>{e(op['method'])} {e(op['path'])}</code> "
                  f"({e(op['operation_id'])}): {e(op['note'] or 'no reason given')}</li>"
                  for op in uncovered]
        parts.append("</ul>")
    return "".join(parts)


def _exchange(exchange: dict[str, Any]) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in exchange["request_headers"].items())
    parts = [f'<div class="exchange"><p><b>{e(exchange["actor"])}</b> ({e(exchange["door"])}): '
             f'<code>{e(exchange["method"])} {e(exchange["url"])}</code> &rarr; '
             f'<b>{e(exchange["status"])}</b></p>']
    if headers:
        parts.append(f"<details><summary>request headers</summary>{_pre(headers)}</details>")
    if exchange["request_body"]:
        parts.append(f"<div>request body</div>{_pre(exchange['request_body'])}")
    parts.append(f"<div>response body</div>{_pre(exchange['response_body'])}</div>")
    return "".join(parts)


def _failures(doc: dict[str, Any]) -> str:
    if not doc["failures"]:
        return "<h2>Failures</h2><p>None.</p>"
    parts = [f"<h2>Failures ({len(doc['failures'])})</h2>"]
    for failure in doc["failures"]:
        steps = "".join(
            f'<li class="step-{e(s["status"])}">{e(s["keyword"])} {e(s["text"])}'
            f' <span class=meta>[{e(s["status"])}]</span>'
            + (_pre(s["error"]) if s.get("error") else "") + "</li>"
            for s in failure["steps"])
        exchanges = "".join(_exchange(x) for x in failure["exchanges"]) or "<p>none</p>"
        parts.append(
            f'<section class="failure {e(failure["outcome"])}">'
            f'<h3>{badge(failure["outcome"])} {e(failure["name"])}</h3>'
            f'<p class=meta>{e(failure["feature"])} &middot; {e(failure["file"])}:'
            f'{e(failure["line"])} &middot; <code>{e(failure["id"])}</code></p>'
            f'{_pre(failure["message"])}<ol>{steps}</ol>'
            f"<h4>Exchanges</h4>{exchanges}</section>")
    return "".join(parts)


def _limitations(doc: dict[str, Any]) -> str:
    rows = [[e(item["name"]), e(item["feature"]), badge(f"limitation {item['result']}")
             if item["result"] in ("present", "lifted") else badge(item["result"]),
             e(item["message"])]
            for item in doc["limitations"]]
    return ("<h2>Limitations</h2>"
            + (_table(["scenario", "feature", "result", "note"], rows) if rows
               else "<p>No limitation scenario ran.</p>"))


def _bugs(doc: dict[str, Any]) -> str:
    if not doc["bugs"]:
        return ""
    rows = [[e(item["id"]), e(item["title"]), badge(item["verdict"]), e(item["fixed"]),
             e(", ".join(x["id"].rsplit("::", 1)[-1] for x in item["evidence"]))]
            for item in doc["bugs"]]
    return ("<h2>Catalogued isolation bugs</h2>"
            + _table(["bug", "title", "verdict", "fixed in", "evidence"], rows))


def _skipped(doc: dict[str, Any]) -> str:
    rows = [[e(item["name"]), e(item["feature"]), badge(item["outcome"]), e(item["reason"])]
            for item in doc["skipped"]]
    return ("<h2>Not supported and skipped</h2>"
            + (_table(["scenario", "feature", "outcome", "reason"], rows) if rows
               else "<p>None.</p>"))


def _all(run: RunResult) -> str:
    features: dict[str, list[ScenarioResult]] = {}
    for scenario in run.scenarios:
        features.setdefault(scenario.feature, []).append(scenario)
    parts = ["<h2>All scenarios</h2>"]
    for feature, scenarios in features.items():
        counts = " ".join(f"{badge(o)} {n}" for o, n in run.counts(scenarios).items() if n)
        rows = [[e(scrub(s.name)), badge(s.outcome.value), e(f"{s.duration:.2f} s"),
                 e(scrub(s.message).strip().splitlines()[0] if s.message.strip() else "")]
                for s in scenarios]
        parts.append(f"<details><summary>{e(feature)} "
                     f"<span class=meta>({e(scenarios[0].feature_file)})</span> {counts}"
                     f"</summary>{_table(['scenario', 'outcome', 'time', 'message'], rows)}"
                     "</details>")
    return "".join(parts)


def to_html(run: RunResult) -> str:
    doc = to_document(run)
    title = f"kfp-isolation conformance: {doc['target'].get('name', '?')}"
    body = "".join([
        f"<h1>{e(title)}</h1>", _header(doc), _profiles(doc), _matrix(doc), _failures(doc),
        _limitations(doc), _bugs(doc), _skipped(doc), _all(run),
    ])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def write_html(run: RunResult, path: Path) -> Path:
    path.write_text(to_html(run), encoding="utf-8")
    return path
