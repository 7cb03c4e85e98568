"""Portable reproduction bundles: one folder per failing scenario, enough to re-run it elsewhere.

When a scenario ends ``fail`` (a product failure, never a harness ``error``) the pytest plugin
writes ``<bundle-dir>/<feature>-<scenario-slug>[-<row>]/``:

* ``bundle.yaml``: format 1: the tool, the target (redacted), its kind, mode and KFP version,
  the run's configuration (bugs, emulator settings, unguarded operations), the scenario (id,
  name, tags, example row), the failing step with its scrubbed message and the last HTTP status
  the scenario saw, and ``suggested_bugs``: the scenario's ``@ISO-xxx`` tags and the bugs the
  emulator target had switched on;
* ``scenario.feature``: the Feature line, the Background and this one scenario, its Examples
  reduced to the failing row; it runs on its own with the suite's step vocabulary;
* ``cast.yaml``: tenants, namespaces, contributors, custom roles, the admin binding, and per
  actor what the API server sees (kind, user name, groups, audience, a token's claims) but
  never a token, cookie or password;
* ``exchanges.jsonl``: the scenario's HTTP exchanges (secret headers already dropped, every
  string scrubbed);
* ``decisions.jsonl``: the emulator's authorization decisions while the scenario ran (a
  cluster: one line saying they are not exposed);
* ``snapshot.json``: the emulator's state when the scenario failed (emulator targets only;
  the values of Kubernetes Secrets redacted).

Every file is also checked against the secrets the run itself holds (tokens, session cookies,
passwords): any that slipped through a body is replaced before the file is written.
``kfp-isolation replay`` (:mod:`conformance.replay`) reads a bundle back with
:func:`read_bundle`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import yaml
from pytest_bdd.gherkin_parser import Scenario as GherkinScenario
from pytest_bdd.gherkin_parser import get_gherkin_document

from conformance.cast import ADMIN, ANONYMOUS, TENANTS, Cast
from conformance.catalog import bugs_of
from conformance.provisioning import EDITOR_SA, KFP_AUDIENCE
from conformance.report.document import exchange_dict
from conformance.report.redaction import REDACTED, scrub, scrub_all
from conformance.results import ScenarioResult
from conformance.target import TargetError
from conformance.targets import USERID_HEADER, Connection, Person, ServiceAccount

FORMAT = 1
API_VERSION = "kfp-isolation/v1"
KIND = "ReproBundle"
BUNDLE_FILE = "bundle.yaml"
FEATURE_FILE = "scenario.feature"
CAST_FILE = "cast.yaml"
EXCHANGES_FILE = "exchanges.jsonl"
DECISIONS_FILE = "decisions.jsonl"
SNAPSHOT_FILE = "snapshot.json"
FILES = (BUNDLE_FILE, FEATURE_FILE, CAST_FILE, EXCHANGES_FILE, DECISIONS_FILE, SNAPSHOT_FILE)
NOT_EXPOSED = ("not exposed: the target is no emulator, and a cluster does not log its "
               "SubjectAccessReviews")
SLUG_LENGTH = 60
CONTROLS_TIMEOUT = 30
# The first comment line of a reduced feature: where it came from (kept when a bundle's own
# feature is reduced again, so a replay's bundle names the original file and row).
_SOURCE = re.compile(r"^# source: (?P<file>\S+):(?P<line>\d+)(?: row (?P<row>\d+))?\s*$",
                     re.MULTILINE)
# The groups Kubernetes gives every ServiceAccount token's user.
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:{namespace}",
             "system:authenticated")
# A secret the run holds shorter than this is not searched for (it would match by chance).
MIN_SECRET = 6


class BundleError(ValueError):
    """A bundle that cannot be written or read, with the reason."""


# -- the reduced feature ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reduced:
    """``scenario.feature``'s text and where it came from."""

    text: str
    source_file: str  # the original feature's file name
    source_line: int  # the scenario's line there
    row: int | None  # 1-based row of the outline's examples (all Examples blocks), or None


def _start(node: Any) -> int:
    """First line of a child (its first tag line, else its keyword line)."""
    tags = getattr(node, "tags", None) or []
    return min([node.location.line, *(t.location.line for t in tags)])


def _children(feature: Any) -> list[tuple[str, Any]]:
    found = []
    for child in feature.children:
        if child.background is not None:
            found.append(("background", child.background))
        elif child.scenario is not None:
            found.append(("scenario", child.scenario))
        elif child.rule is not None:
            found.append(("rule", child.rule))
    return found


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _example_rows(scenario: GherkinScenario, lines: list[str], end: int,
                  example: dict[str, str]) -> tuple[list[str], int | None]:
    """The scenario's lines (1-based ``scenario start`` .. ``end``) with only the Examples
    block holding ``example`` and, in it, only that row; and the row's 1-based number."""
    start = _start(scenario)
    blocks = [(_start(e), e) for e in scenario.examples]
    if not blocks:
        return lines[start - 1:end], None
    if not example:
        raise BundleError(f"the outline at line {scenario.location.line} has Examples, but "
                          "the failing scenario names no example row")
    number, found = 0, 0
    chosen: tuple[int, int, int] | None = None  # (block start, block end, row line)
    for index, (block_start, examples) in enumerate(blocks):
        block_end = blocks[index + 1][0] - 1 if index + 1 < len(blocks) else end
        header = [c.value for c in examples.table_header.cells] \
            if examples.table_header else []
        for row in examples.table_body or []:
            number += 1
            if chosen is None and \
                    dict(zip(header, (c.value for c in row.cells), strict=False)) == example:
                chosen = (block_start, block_end, row.location.line)
                found = number
    if chosen is None:
        raise BundleError(f"no example row of the outline at line {scenario.location.line} "
                          f"holds {example}")
    block_start, block_end, row_line = chosen
    rows = {row.location.line for _, e in blocks for row in e.table_body or []}
    kept = lines[start - 1:blocks[0][0] - 1]
    kept += [line for number_, line in enumerate(lines[block_start - 1:block_end], block_start)
             if number_ == row_line or number_ not in rows]
    return kept, found


def reduce_feature(path: Path, scenario_line: int, example: dict[str, str]) -> Reduced:
    """The feature at ``path`` cut down to its header, its Background and the scenario whose
    keyword is on ``scenario_line``, with ``example`` its only row.  A feature that is itself a
    bundle's keeps naming its original source."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    try:
        document = get_gherkin_document(str(path.resolve()))
    except Exception as exc:  # pytest-bdd raises its own parse errors
        raise BundleError(f"cannot parse {path}: {exc}") from None
    feature = document.feature
    children = _children(feature)
    starts = [_start(node) for _, node in children]
    ends = [s - 1 for s in starts[1:]] + [len(lines)]
    header_end = (starts[0] - 1) if starts else len(lines)
    header = lines[_start(feature) - 1:header_end]
    parts = [_trim(header)]
    row: int | None = None
    found = False
    for (kind, node), start, end in zip(children, starts, ends, strict=True):
        if kind == "background":
            parts.append(_trim(lines[start - 1:end]))
        elif kind == "scenario" and node.location.line == scenario_line:
            kept, row = _example_rows(node, lines, end, example)
            parts.append(_trim(kept))
            found = True
        elif kind == "rule" and any(c.scenario is not None and
                                    c.scenario.location.line == scenario_line
                                    for c in node.children):
            raise BundleError(f"{path.name}:{scenario_line}: a scenario inside a Rule is not "
                              "supported by bundles")
    if not found:
        raise BundleError(f"{path.name} has no scenario at line {scenario_line}")
    source = _SOURCE.search(text)
    if source is not None:  # a bundle's feature: keep the original provenance
        source_file, source_line = source["file"], int(source["line"])
        if source["row"] is not None:
            row = int(source["row"])
    else:
        source_file, source_line = path.name, scenario_line
    where = f"# source: {source_file}:{source_line}" + (f" row {row}" if row else "")
    body = "\n\n".join("\n".join(part) for part in parts if part)
    return Reduced(f"{where}\n# kfp-isolation repro bundle: this scenario alone; run it with "
                   f"`kfp-isolation replay <this folder>`\n{body}\n",
                   source_file, source_line, row)


# -- names -----------------------------------------------------------------------------------


def slug(text: str, limit: int = SLUG_LENGTH) -> str:
    found = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")
    return found[:limit].rstrip("-") or "scenario"


def bundle_name(feature_file: str, scenario_name: str, row: int | None) -> str:
    stem = slug(Path(feature_file).stem.replace("_", "-"), 40)
    return f"{stem}-{slug(scenario_name)}" + (f"-{row}" if row else "")


# -- the cast --------------------------------------------------------------------------------


def _claims(token: str | None) -> dict[str, Any]:
    """What a JWT says about its subject (never the token itself or its signature)."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    claims = {key: data[key] for key in ("iss", "sub", "aud") if key in data}
    if isinstance(data.get("exp"), (int, float)) and isinstance(data.get("iat"), (int, float)):
        claims["lifetime_seconds"] = int(data["exp"] - data["iat"])
    kubernetes = data.get("kubernetes.io")
    if isinstance(kubernetes, dict):
        account = kubernetes.get("serviceaccount")
        claims["kubernetes.io"] = {
            "namespace": kubernetes.get("namespace"),
            "serviceaccount": account.get("name") if isinstance(account, dict) else None}
    return claims


def actors(cast: Cast) -> list[str]:
    """Every actor a feature may name."""
    return [*cast.people, *(f"{t}'s service account" for t in TENANTS), ANONYMOUS]


def _actor(cast: Cast, connection: Connection, actor: str, used: bool) -> dict[str, Any]:
    caller = cast.caller(actor)
    multiuser = connection.mode.multiuser
    entry: dict[str, Any] = {"used": used}
    if isinstance(caller, Person):
        entry.update(kind="person", username=caller.email, groups=[])
        entry["credential"] = {
            "direct": f"the {USERID_HEADER} header, which the API server trusts inside the "
                      "cluster" if multiuser else "none (single-user)",
            "gateway": "a login session cookie from the gateway's Dex login as a static user "
                       "(password from the target file)" if multiuser else "none (single-user)"}
    elif isinstance(caller, ServiceAccount):
        entry.update(kind="service account", username=cast.identity(actor),
                     groups=[g.format(namespace=caller.namespace) for g in SA_GROUPS],
                     audiences=[caller.audience],
                     credential="a TokenRequest token of the ServiceAccount, as a Bearer header")
        # The token the run minted, if any (read, never minted here): its claims only.
        claims = _claims(connection.minted_token(caller))
        if claims:
            entry["claims"] = claims
    else:
        entry.update(kind="anonymous", username="", groups=[], credential="none")
    return entry


def cast_document(cast: Cast, connection: Connection, used: Iterable[str]) -> dict[str, Any]:
    """The tenants, their roles and the identities of the actors, without any secret."""
    used = set(used)
    tenants = []
    for name, tenant in zip(TENANTS, cast.tenants(), strict=True):
        tenants.append({
            "tenant": name,
            "namespace": tenant.namespace,
            "owner": tenant.owner,
            "contributors": [{"user": email, "role": role, "cluster_role": f"kubeflow-{role}"}
                             for email, role in tenant.contributors],
            "custom_roles": [{"name": role.name, "api_group": "pipelines.kubeflow.org",
                              "resources": list(role.resources), "verbs": list(role.verbs),
                              "users": list(role.users)} for role in tenant.roles],
            "service_account": {"name": EDITOR_SA,
                                "username": f"system:serviceaccount:{tenant.namespace}:"
                                            f"{EDITOR_SA}"},
        })
    return {
        "prefix": cast.prefix,
        "tenants": tenants,
        "admin": {"actor": ADMIN, "user": cast.people[ADMIN], "cluster_role": "cluster-admin",
                  "binding": cast.admin_binding},
        "audience": KFP_AUDIENCE,
        "actors": {actor: _actor(cast, connection, actor, actor in used)
                   for actor in actors(cast)},
    }


# -- secrets ---------------------------------------------------------------------------------


def known_secrets(connection: Connection, passwords: Iterable[str] = ()) -> set[str]:
    """The secrets this run holds: ServiceAccount tokens, gateway cookies, login passwords."""
    found = set(passwords)
    for secret in connection.held_secrets():
        found.add(secret)
        for part in secret.split(";"):  # a cookie string: each cookie's value alone too
            found.add(part.strip().partition("=")[2])
    for user in connection.target.users:
        with contextlib.suppress(TargetError):
            found.add(user.resolve_password())
    return {secret for secret in found if len(secret) >= MIN_SECRET}


def redact_known(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# Kubernetes stores Secret ``data`` base64-encoded: the redaction stays valid base64, so a bundle's
# snapshot still imports (``PUT /_emulator/state``) for someone who wants to look around in it.
REDACTED_DATA = base64.b64encode(REDACTED.encode()).decode()
# Object-store users in a snapshot (format 3) carry the same keys their namespace's Secret holds:
# each gets its own placeholder (``<redacted>-secret_key-bob``), so an imported bundle snapshot
# still tells its users apart.
CREDENTIAL_FIELDS = frozenset({"access_key", "secret_key"})


def redact_snapshot(snapshot: Any) -> Any:
    """The snapshot with every Secret's values and every object-store user's keys redacted
    (their names kept) and every string scrubbed (tokens, cookies, passwords quoted anywhere)."""
    if isinstance(snapshot, dict):
        if snapshot.get("kind") == "Secret":
            return {key: (_redact_values(value, key) if key in ("data", "stringData")
                          and isinstance(value, dict) else redact_snapshot(value))
                    for key, value in snapshot.items()}
        owner = snapshot.get("namespace") or snapshot.get("username") or ""
        return {key: f"{REDACTED}-{key}-{owner}" if key in CREDENTIAL_FIELDS
                and isinstance(value, str) else redact_snapshot(value)
                for key, value in snapshot.items()}
    if isinstance(snapshot, list):
        return [redact_snapshot(item) for item in snapshot]
    if isinstance(snapshot, str):
        return scrub(snapshot)
    return snapshot


def _redact_values(values: dict[str, Any], field: str) -> dict[str, str]:
    return dict.fromkeys(values, REDACTED_DATA if field == "data" else REDACTED)


# -- writing ---------------------------------------------------------------------------------


def _get(url: str, http: requests.Session | None = None) -> Any:
    answer = (http or requests).get(url, timeout=CONTROLS_TIMEOUT)
    if answer.status_code != 200:
        raise BundleError(f"GET {url}: {answer.status_code} {answer.text[:200]}")
    return answer.json()


@dataclass(frozen=True)
class Source:
    """Where the failing scenario is written: its feature file, line and example row."""

    feature_path: str
    line: int
    example: dict[str, str]


def _is_bundle(folder: Path) -> bool:
    try:
        meta = yaml.safe_load((folder / BUNDLE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(meta, dict) and meta.get("kind") == KIND


@dataclass
class BundleWriter:
    """Writes the bundles of one run into ``root`` (one writer per pytest session)."""

    root: Path
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)
    _seq: int = 0  # the last authorization decision seen (the emulator's log)
    _emulator_bugs: list[str] | None = None
    # One kept-alive connection to the emulator's controls: the writer asks at every
    # scenario's start, and a new connection per ask costs more than the answer.
    _http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        """Bundles an earlier run left in ``root`` go: a bundle there must be this run's
        failure (``certify`` reuses its report folder).  Only folders that are bundles."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if folder.is_dir() and _is_bundle(folder):
                shutil.rmtree(folder)

    def mark(self, connection: Connection) -> int:
        """The emulator's last decision number as a scenario begins (0 elsewhere): its
        bundle holds the decisions after it."""
        controls = connection.target.emulator_controls
        if not controls:
            return 0
        try:
            answer = _get(f"{controls}/decisions?since={self._seq}&limit=0", self._http)
            if "last" in answer:
                self._seq = max(self._seq, int(answer["last"]))
            else:  # an emulator from before ``last``: the decisions themselves
                self._seq = max([self._seq, *(int(d["seq"]) for d in answer["decisions"])])
        except (requests.RequestException, BundleError, KeyError, TypeError, ValueError) as exc:
            problem = f"decision log: {exc}"
            if problem not in self.problems:  # once, not once per scenario
                self.problems.append(problem)
        return self._seq

    def emulator_bugs(self, connection: Connection) -> list[str] | None:
        """The bugs the emulator target has switched on (``GET /_emulator``); None when the
        target is no emulator."""
        controls = connection.target.emulator_controls
        if not controls:
            return None
        if self._emulator_bugs is None:
            self._emulator_bugs = sorted(_get(controls, self._http)["config"].get("bugs") or [])
        return self._emulator_bugs

    def _folder(self, name: str) -> Path:
        unique, number = name, 1
        while unique in self._names:
            number += 1
            unique = f"{name}-{number}"
        self._names.add(unique)
        folder = self.root / unique
        folder.mkdir(parents=True, exist_ok=True)
        for stale in FILES:  # a folder left by an earlier run into the same directory
            (folder / stale).unlink(missing_ok=True)
        return folder

    def write(self, *, scenario: ScenarioResult, source: Source, connection: Connection,
              cast: Cast, since: int, tool_version: str, target: dict[str, Any],
              kfp_version: str, configuration: dict[str, Any],
              passwords: Iterable[str] = ()) -> Path:
        """One failing scenario's bundle; returns its folder."""
        notes: list[str] = []
        reduced = reduce_feature(Path(source.feature_path), source.line, source.example)
        folder = self._folder(bundle_name(reduced.source_file, scenario.name, reduced.row))
        secrets = known_secrets(connection, passwords)

        def put(name: str, text: str) -> None:
            (folder / name).write_text(redact_known(text, secrets), encoding="utf-8")

        failed = [(i, s) for i, s in enumerate(scenario.steps) if s.status == "failed"]
        last_status = scenario.exchanges[-1].status if scenario.exchanges else None
        emulator_bugs: list[str] | None = None
        try:
            emulator_bugs = self.emulator_bugs(connection)
        except (requests.RequestException, BundleError, KeyError, TypeError,
                ValueError) as exc:
            notes.append(f"the emulator's bugs could not be read: {exc}")
        suggested = sorted(set(bugs_of(scenario.tags)) | set(emulator_bugs or ()))
        decisions: list[Any] | None = None
        snapshot: Any = None
        controls = connection.target.emulator_controls
        if controls:
            try:
                decisions = _get(f"{controls}/decisions?since={since}", self._http)["decisions"]
            except (requests.RequestException, BundleError, KeyError, TypeError,
                    ValueError) as exc:
                notes.append(f"the decision log could not be read: {exc}")
            try:
                snapshot = redact_snapshot(_get(f"{controls}/state", self._http))
            except (requests.RequestException, BundleError, ValueError) as exc:
                notes.append(f"the emulator state could not be read: {exc}")
        meta: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "format": FORMAT,
            "tool": {"name": "kfp-isolation", "version": tool_version},
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "target": {"kind": str(target.get("target", "")), "mode": connection.mode.value,
                       "kfp_version": kfp_version, "description": target,
                       "emulator": bool(controls)},
            "configuration": configuration,
            "scenario": {"id": scenario.id, "feature": scenario.feature,
                         "file": reduced.source_file, "line": reduced.source_line,
                         "name": scenario.name, "tags": list(scenario.tags),
                         "example": dict(source.example), "row": reduced.row},
            "failing_step": ({"index": failed[0][0], "keyword": failed[0][1].keyword,
                              "text": failed[0][1].text, "message": failed[0][1].error}
                             if failed else None),
            "message": scenario.message,
            "last_status": last_status,
            "suggested_bugs": suggested,
            "emulator_bugs": emulator_bugs,
            "decisions": ({"since": since, "count": len(decisions)} if decisions is not None
                          else NOT_EXPOSED if not controls else "unavailable"),
            "files": {"scenario": FEATURE_FILE, "cast": CAST_FILE,
                      "exchanges": EXCHANGES_FILE, "decisions": DECISIONS_FILE,
                      **({"snapshot": SNAPSHOT_FILE} if snapshot is not None else {})},
            "notes": notes,
        }
        put(BUNDLE_FILE, yaml.safe_dump(scrub_all(_plain(meta)), sort_keys=False,
                                        allow_unicode=True))
        put(FEATURE_FILE, reduced.text)
        used = {e.actor for e in scenario.exchanges}
        put(CAST_FILE, yaml.safe_dump(cast_document(cast, connection, used), sort_keys=False,
                                      allow_unicode=True))
        put(EXCHANGES_FILE, "".join(json.dumps(scrub_all(exchange_dict(e))) + "\n"
                                    for e in scenario.exchanges))
        if decisions is not None:
            put(DECISIONS_FILE, "".join(json.dumps(scrub_all(d)) + "\n" for d in decisions))
        else:
            put(DECISIONS_FILE, json.dumps({"decisions": NOT_EXPOSED if not controls
                                            else "unavailable: " + "; ".join(notes)}) + "\n")
        if snapshot is not None:
            put(SNAPSHOT_FILE, json.dumps(snapshot, indent=1, sort_keys=True))
        self.written.append(folder)
        return folder


def _plain(value: Any) -> Any:
    """Only YAML types (enums and sets become their values)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(getattr(value, "value", value))


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingStep:
    index: int
    keyword: str
    text: str
    message: str = ""


@dataclass(frozen=True)
class Bundle:
    """A bundle read back (what replay needs; ``data`` is the whole bundle.yaml)."""

    path: Path
    data: dict[str, Any]

    @property
    def feature(self) -> Path:
        return self.path / FEATURE_FILE

    @property
    def source_file(self) -> str:
        return str(self.data["scenario"].get("file") or FEATURE_FILE)

    @property
    def scenario_name(self) -> str:
        return str(self.data["scenario"].get("name", ""))

    @property
    def target_kind(self) -> str:
        return str(self.data["target"].get("kind", ""))

    @property
    def mode(self) -> str:
        return str(self.data["target"].get("mode", ""))

    @property
    def suggested_bugs(self) -> list[str]:
        return [str(b) for b in self.data.get("suggested_bugs") or []]

    @property
    def configuration(self) -> dict[str, Any]:
        found = self.data.get("configuration") or {}
        return found if isinstance(found, dict) else {}

    @property
    def failing_step(self) -> FailingStep | None:
        step = self.data.get("failing_step")
        if not isinstance(step, dict):
            return None
        return FailingStep(int(step["index"]), str(step.get("keyword", "")),
                           str(step.get("text", "")), str(step.get("message", "")))

    @property
    def last_status(self) -> int | None:
        status = self.data.get("last_status")
        return int(status) if isinstance(status, int) else None


def read_bundle(path: Path) -> Bundle:
    """A bundle folder (or its bundle.yaml), checked enough to replay it."""
    folder = path.parent if path.name == BUNDLE_FILE else path
    try:
        data = yaml.safe_load((folder / BUNDLE_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BundleError(f"cannot read {folder / BUNDLE_FILE}: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise BundleError(f"{folder / BUNDLE_FILE}: not a kfp-isolation repro bundle")
    if data.get("format") != FORMAT:
        raise BundleError(f"{folder / BUNDLE_FILE}: bundle format {data.get('format')!r}; "
                          f"this tool reads format {FORMAT}")
    for key in ("scenario", "target"):
        if not isinstance(data.get(key), dict):
            raise BundleError(f"{folder / BUNDLE_FILE}: '{key}' is missing")
    if not (folder / FEATURE_FILE).is_file():
        raise BundleError(f"{folder}: no {FEATURE_FILE}")
    return Bundle(folder, data)


__all__ = ["Bundle", "BundleError", "BundleWriter", "FailingStep", "Reduced", "Source",
           "bundle_name", "cast_document", "read_bundle", "reduce_feature"]
