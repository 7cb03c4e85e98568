"""``kfp-isolation bugs``: the catalogued isolation bugs, what the emulator can do with each, and
the scenarios that detect it (read from the features' ``@ISO-xxx`` tags; no target touched)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from conformance.certify import features_dir
from emulator.bugs import BUGS, KFP_VERSIONS, Bug, normalize

_TAG = re.compile(r"@(ISO-\d{3})\b")
_SCENARIO = re.compile(r"^\s*Scenario(?: Outline)?:\s*(.+?)\s*$")
_FEATURE = re.compile(r"^\s*Feature:")


def tagged_scenarios(folder: Path | None = None) -> dict[str, list[str]]:
    """Bug id -> ``file: scenario name`` of every scenario tagged with it (a tag on the
    ``Feature:`` line covers the file's scenarios; Examples tags are not bug tags)."""
    found: dict[str, list[str]] = {}
    for path in sorted((folder or features_dir()).glob("*.feature")):
        for bug_id, _, name in _scan(path):
            found.setdefault(bug_id, []).append(f"{path.name}: {name}")
    return found


def tagged_locations(folder: Path | None = None) -> dict[str, set[tuple[str, int]]]:
    """Bug id -> (feature file name, line of its ``Scenario``) of every tagged scenario: how a
    report names a scenario (every row of an outline shares its line)."""
    found: dict[str, set[tuple[str, int]]] = {}
    for path in sorted((folder or features_dir()).glob("*.feature")):
        for bug_id, line, _ in _scan(path):
            found.setdefault(bug_id, set()).add((path.name, line))
    return found


def _scan(path: Path) -> Iterator[tuple[str, int, str]]:
    pending: list[str] = []
    feature_tags: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("@"):
            pending += _TAG.findall(stripped)
            continue
        if _FEATURE.match(line):
            feature_tags, pending = pending, []
            continue
        match = _SCENARIO.match(line)
        if match:
            for bug_id in dict.fromkeys(feature_tags + pending):
                yield bug_id, number, match.group(1)
        if stripped and not stripped.startswith("#"):
            pending = []


def versions_with(bug_id: str) -> list[str]:
    return [v.version for v in KFP_VERSIONS.values() if bug_id in v.bugs]


def entry(bug: Bug, scenarios: dict[str, list[str]]) -> dict[str, Any]:
    return {**bug.as_dict(), "emulated_releases": versions_with(bug.id),
            "scenarios": scenarios.get(bug.id, [])}


_KIND = {"switch": "switchable", "limitation": "limitation (on by default)",
         "no": "not expressible"}


def write_text(entries: list[dict[str, Any]], out: TextIO) -> None:
    for item in entries:
        out.write(f"{item['id']}  {_KIND[item['expressible']]}  —  {item['title']}\n")
        out.write(f"    {item['component']}; affected {item['affected']}; fixed "
                  f"{item['fixed']}\n")
        label = "where" if item["expressible"] == "switch" else "why"
        out.write(f"    {label}: {item['note']}\n")
        if item["partial"]:
            out.write(f"    not reproduced: {item['partial']}\n")
        for link in item["links"]:
            out.write(f"    {link}\n")
        if item["emulated_releases"]:
            out.write(f"    in --emulate-kfp {', '.join(item['emulated_releases'])}\n")
        for scenario in item["scenarios"]:
            out.write(f"    detected by  {scenario}\n")
        out.write("\n")
    switchable = sum(1 for i in entries if i["expressible"] == "switch")
    out.write(f"{len(entries)} bugs: {switchable} switchable (--bug / serve --bug), "
              f"{sum(1 for i in entries if i['expressible'] == 'limitation')} limitations the "
              f"emulator shows by default, "
              f"{sum(1 for i in entries if i['expressible'] == 'no')} not expressible.  "
              f"Releases: {', '.join(KFP_VERSIONS)} (--emulate-kfp).\n")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("bugs", help="list the catalogued isolation bugs the emulator can "
                                         "switch on, and the scenarios that detect them")
    parser.add_argument("ids", nargs="*", metavar="ISO-xxx", help="only these bugs")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=cmd_bugs)


def cmd_bugs(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    wanted = [normalize(i) for i in args.ids]
    unknown = [i for i in wanted if i not in BUGS]
    if unknown:
        print(f"kfp-isolation bugs: unknown {', '.join(unknown)}", file=sys.stderr)
        return 2
    scenarios = tagged_scenarios()
    entries = [entry(BUGS[i], scenarios) for i in (wanted or list(BUGS))]
    if args.json:
        json.dump(entries, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_text(entries, out)
    return 0
