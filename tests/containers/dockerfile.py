"""A small Dockerfile reader and a .dockerignore matcher, enough for the image tests to check
instructions (not text): stages, flags, exec-form arguments, continuation lines.

Follows the Dockerfile reference: parser directives and comments are whole lines starting with
``#``; a line ending in the escape character (``\\``) continues on the next one; the keyword
is case-insensitive; ``--flag=value`` options precede the arguments; ``["a", "b"]`` is the exec
form (JSON).  ``.dockerignore`` follows Docker's pattern matcher: patterns are rooted at the
context, ``*`` and ``?`` never cross ``/``, ``**`` spans folders, ``!`` re-includes, the last
matching line wins, and a pattern matching a folder excludes what it holds.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


class DockerfileError(ValueError):
    """A Dockerfile this reader cannot make sense of, with the line."""


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    text: str  # everything after the keyword, continuation lines joined
    line: int  # where the instruction starts (1-based)

    def flags_and_rest(self) -> tuple[dict[str, str], str]:
        """The leading ``--name=value`` options and the remaining argument text."""
        flags: dict[str, str] = {}
        rest = self.text.strip()
        while rest.startswith("--"):
            head, _, tail = rest.partition(" ")
            name, _, value = head[2:].partition("=")
            flags[name] = value
            rest = tail.strip()
        return flags, rest

    @property
    def flags(self) -> dict[str, str]:
        return self.flags_and_rest()[0]

    @property
    def arguments(self) -> list[str]:
        """The arguments after the flags: the exec form's list, or the shell words."""
        rest = self.flags_and_rest()[1]
        exec_form = _exec_form(rest)
        if exec_form is not None:
            return exec_form
        try:
            return shlex.split(rest)
        except ValueError as exc:
            raise DockerfileError(f"line {self.line}: {self.keyword}: {exc}") from None

    def exec_form(self) -> list[str] | None:
        """The JSON list of an exec-form instruction, None for the shell form."""
        return _exec_form(self.flags_and_rest()[1])


def _exec_form(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None  # Docker runs a malformed JSON list as a shell command
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return value


@dataclass
class Stage:
    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword.upper()]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    directives: dict[str, str]
    global_args: list[Instruction]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        if not self.stages:
            raise DockerfileError("no FROM: the Dockerfile has no stage")
        return self.stages[-1]

    def stage_names(self) -> set[str]:
        return {s.name for s in self.stages if s.name}


_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, instruction text) with comments dropped and continuations joined."""
    result: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (pending and not stripped):
            continue  # comments and empty lines may sit inside a continued instruction
        if not stripped:
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip())
            continue
        pending.append(stripped)
        result.append((start, " ".join(part for part in pending if part)))
        pending = []
    if pending:
        raise DockerfileError(f"line {start}: the last instruction ends with a continuation")
    return result


def parse(text: str) -> Dockerfile:
    directives: dict[str, str] = {}
    for raw in text.splitlines():  # parser directives: only at the very top
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        directives[match.group(1).lower()] = match.group(2)
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for number, line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        instruction = Instruction(keyword.upper(), rest.strip(), number)
        if instruction.keyword == "FROM":
            words = instruction.arguments
            if len(words) == 3 and words[1].upper() == "AS":
                stages.append(Stage(words[0], words[2], number))
            elif len(words) == 1:
                stages.append(Stage(words[0], None, number))
            else:
                raise DockerfileError(f"line {number}: FROM takes an image and an optional "
                                      f"'AS name', not {rest!r}")
        elif not stages:
            if instruction.keyword != "ARG":
                raise DockerfileError(f"line {number}: {instruction.keyword} before any FROM")
            global_args.append(instruction)
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(directives, global_args, stages)


def load(path: Path) -> Dockerfile:
    return parse(path.read_text())


@dataclass(frozen=True)
class CopySource:
    stage: str | None  # --from: another stage or image; None: the build context
    sources: tuple[str, ...]
    destination: str
    line: int


def copies(stage: Stage) -> list[CopySource]:
    """The COPY and ADD instructions of a stage: sources, destination, where from."""
    found = []
    for instruction in stage.all("COPY") + stage.all("ADD"):
        words = instruction.arguments
        if len(words) < 2:
            raise DockerfileError(f"line {instruction.line}: {instruction.keyword} needs a "
                                  "source and a destination")
        found.append(CopySource(instruction.flags.get("from") or None, tuple(words[:-1]),
                                words[-1], instruction.line))
    return found


@dataclass(frozen=True)
class HealthCheck:
    options: dict[str, str]
    command: list[str] | None  # None: HEALTHCHECK NONE
    shell: bool


def health_check(stage: Stage) -> HealthCheck | None:
    instruction = stage.last("HEALTHCHECK")
    if instruction is None:
        return None
    options, rest = instruction.flags_and_rest()
    kind, _, command = rest.partition(" ")
    if kind.upper() == "NONE":
        return HealthCheck(options, None, False)
    if kind.upper() != "CMD":
        raise DockerfileError(f"line {instruction.line}: HEALTHCHECK takes NONE or CMD")
    exec_form = _exec_form(command.strip())
    if exec_form is not None:
        return HealthCheck(options, exec_form, False)
    return HealthCheck(options, ["/bin/sh", "-c", command.strip()], True)


# ---- .dockerignore --------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    exclude: bool  # False for a `!` line: re-included
    regex: re.Pattern[str]


def _translate(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):  # `**/`: zero or more folders
                out.append("(?:.*/)?")
                index += 1
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1:end]
                if body.startswith("^"):  # Go's filepath.Match negation
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


def _clean(pattern: str) -> str:
    parts = [p for p in pattern.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


def ignore_rules(text: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = _clean(line if exclude else line[1:])
        if pattern:
            rules.append(IgnoreRule(pattern, exclude, _translate(pattern)))
    return rules


def is_ignored(path: str, rules: list[IgnoreRule]) -> bool:
    """Whether the context path (relative, ``/``-separated) is left out of the build context:
    the last rule matching the path or one of its parent folders decides."""
    parts = _clean(path).split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for rule in rules:
        if any(rule.regex.match(candidate) for candidate in candidates):
            ignored = rule.exclude
    return ignored
