#!/usr/bin/env python
"""Emulator performance report: each figure beside a bare Starlette endpoint measured in the
same run, on the same machine, with the same load generator.

Figures (``--quick`` divides every data size by 10):

* cold start: from spawning ``python -c`` (import ``emulator``, build an Emulator with the
  standard cast's two profiles, start an EmulatorServer) to the first 200 from
  ``/apis/v2beta1/healthz``; target < 0.5 s. Also the in-process ``EmulatorServer.start()``
  time (informational);
* requests per second for get-run-by-id and list-runs (page of 20) with 100,000 runs in 1,000
  namespaces (1,000 profiles, experiments, pipelines and versions), every request carrying its
  namespace owner's ``kubeflow-userid`` header so authorization runs; target >= 0.5x the bare
  endpoint's rate;
* list latency for one tenant (100 runs of its own) with 1,000 versus ~100,000 runs in other
  namespaces; target: within 1.5x;
* resident memory (VmRSS) of the server process holding 100,000 runs; target < 250 MB.

The data plane is on, as in every emulator: each run executes (``emulator.execution``), so each of
the 100,000 finished runs also has its Argo Workflow and two pods, its model artifact and two pod
logs in the object store (generated on read from a small recipe) and its ML Metadata records
(two contexts shared or per run, two executions, an artifact, two events), and run JSON carries
its ``run_details`` (task details: a body ~2.8x the size without them).  The build time of the
100,000 runs is reported (informational; 2,000 runs took 1.4 s before the data plane).

Servers run in their own process (uvicorn on a daemon thread, exactly as ``EmulatorServer`` does,
also for the bare endpoint). Data is created through the emulator's Python services with each
owner's Credentials (SubjectAccessReviews included), runs reference their namespace's pipeline
version (as the SDK's ``run_pipeline(version_id=...)`` does), and the clock is then advanced so
every run has finished.

The load generator is ``wrk`` (one thread, keep-alive connections, a Lua script choosing a random
request per call) when it is on PATH; otherwise a multi-process raw-socket keep-alive Python
client. Bare and emulator are always measured with the same client. Latency is measured with a
single keep-alive connection, one request at a time.

This is a report, not a test: it always exits 0. Usage::

    python benchmarks/bench_emulator.py [--quick] [--duration SECONDS] [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

HOST = "127.0.0.1"
USERID_HEADER = "kubeflow-userid"
RUNS_PER_NAMESPACE = 100
BARE_PATH = "/bare"
BARE_PAGE_PATH = "/bare-page"
PROJECT = Path(__file__).resolve().parents[1]

# A small but realistic compiled KFP v2 pipeline (two chained container tasks).
PIPELINE_SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "train-and-evaluate"},
    "sdkVersion": "kfp-2.17.3",
    "schemaVersion": "2.1.0",
    "root": {
        "inputDefinitions": {"parameters": {
            "learning_rate": {"parameterType": "NUMBER_DOUBLE", "defaultValue": 0.01},
            "epochs": {"parameterType": "NUMBER_INTEGER", "defaultValue": 10}}},
        "dag": {"tasks": {
            "train": {
                "taskInfo": {"name": "train"},
                "componentRef": {"name": "comp-train"},
                "inputs": {"parameters": {
                    "learning_rate": {"componentInputParameter": "learning_rate"},
                    "epochs": {"componentInputParameter": "epochs"}}}},
            "evaluate": {
                "taskInfo": {"name": "evaluate"},
                "componentRef": {"name": "comp-evaluate"},
                "dependentTasks": ["train"],
                "inputs": {"artifacts": {"model": {"taskOutputArtifact": {
                    "producerTask": "train", "outputArtifactKey": "model"}}}}}}},
    },
    "components": {
        "comp-train": {
            "executorLabel": "exec-train",
            "inputDefinitions": {"parameters": {
                "learning_rate": {"parameterType": "NUMBER_DOUBLE"},
                "epochs": {"parameterType": "NUMBER_INTEGER"}}},
            "outputDefinitions": {"artifacts": {"model": {
                "artifactType": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}}}}},
        "comp-evaluate": {
            "executorLabel": "exec-evaluate",
            "inputDefinitions": {"artifacts": {"model": {
                "artifactType": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}}}},
            "outputDefinitions": {"parameters": {"accuracy": {"parameterType": "NUMBER_DOUBLE"}}}},
    },
    "deploymentSpec": {"executors": {
        "exec-train": {"container": {
            "image": "python:3.11", "command": ["python", "-m", "train"],
            "args": ["--learning-rate", "{{$.inputs.parameters['learning_rate']}}",
                     "--epochs", "{{$.inputs.parameters['epochs']}}",
                     "--model", "{{$.outputs.artifacts['model'].path}}"]}},
        "exec-evaluate": {"container": {
            "image": "python:3.11", "command": ["python", "-m", "evaluate"],
            "args": ["--model", "{{$.inputs.artifacts['model'].path}}",
                     "--accuracy", "{{$.outputs.parameters['accuracy'].output_file}}"]}}}},
}


# -- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mb() -> float:
    """This process's resident set size in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def namespace_name(index: int) -> str:
    return f"team-{index:04d}"


def owner_of(index: int) -> str:
    return f"owner-{index:04d}@example.com"


def request_bytes(path: str, user: str, port: int) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{USERID_HEADER}: {user}\r\n"
            "\r\n").encode()


def _recv_response(sock: socket.socket, buf: bytearray) -> int:
    """Read one HTTP/1.1 response (Content-Length framed) from a blocking socket; its status."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            length = _content_length(buf, end)
            if len(buf) >= end + 4 + length:
                status = int(buf[9:12])
                del buf[:end + 4 + length]
                return status
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def _content_length(buf: bytearray, header_end: int) -> int:
    found = _CONTENT_LENGTH.search(buf, 0, header_end + 2)
    return int(found.group(1)) if found else 0


# -- server processes ----------------------------------------------------------------------------


def build_emulator(namespaces: int, runs_per_namespace: int) -> tuple[Any, list[dict[str, str]]]:
    """An emulator holding ``namespaces`` tenants, each with one profile, experiment, pipeline
    (and version) and ``runs_per_namespace`` runs, created with the owners' credentials."""
    from emulator.core import Emulator, ProfileSpec
    from emulator.kfp.access import Credentials
    from emulator.kfp.models import PipelineSource
    from emulator.kfp.pipelines import VersionRequest
    from emulator.kfp.runs import RunRequest

    emulator = Emulator()
    kfp = emulator.kfp
    spec_text = json.dumps(PIPELINE_SPEC)
    targets: list[dict[str, str]] = []
    for index in range(namespaces):
        namespace, owner = namespace_name(index), owner_of(index)
        emulator.add_profile(ProfileSpec(namespace, owner))
        creds = Credentials(userid_headers=(owner,))
        with kfp.state.lock:
            experiment = kfp.experiments.create(creds, "nightly-training", "", namespace)
            _, version = kfp.pipelines.create(
                creds, name="train-and-evaluate", namespace=namespace,
                version=VersionRequest(name="v1", spec_text=spec_text))
            assert version is not None
            for number in range(runs_per_namespace):
                run = kfp.runs.create(creds, RunRequest(
                    name=f"train-and-evaluate-{number:03d}", experiment_id=experiment.id,
                    source=PipelineSource(pipeline_version_id=version.id,
                                          runtime_parameters={"learning_rate": 0.01 * number})))
                targets.append({"namespace": namespace, "owner": owner, "run_id": run.id})
        emulator.advance(1)  # runs created one second apart per namespace
    emulator.advance(3600)  # every run has finished
    return emulator, targets


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def endpoint(request: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    page = Response(json.dumps(synthetic_page(), separators=(",", ":")),
                    media_type="application/json")

    async def large(request: Any) -> Response:
        return page  # pre-encoded: only the HTTP stack's cost of a list-sized body

    return Starlette(routes=[Route(BARE_PATH, endpoint), Route(BARE_PAGE_PATH, large)])


def synthetic_page() -> dict[str, Any]:
    """A body shaped and sized like a v2 list-runs page of 20 finished runs."""
    stamp = "2026-01-01T00:00:00Z"
    run = {"experiment_id": "0" * 36, "run_id": "1" * 36,
           "display_name": "train-and-evaluate-000", "storage_state": "AVAILABLE",
           "pipeline_version_reference": {"pipeline_id": "2" * 36,
                                          "pipeline_version_id": "3" * 36},
           "runtime_config": {"parameters": {"learning_rate": 0.01}},
           "service_account": "default-editor", "created_at": stamp, "scheduled_at": stamp,
           "finished_at": stamp, "state": "SUCCEEDED", "run_details": {},
           "state_history": [{"update_time": stamp, "state": state}
                             for state in ("PENDING", "RUNNING", "SUCCEEDED")]}
    return {"runs": [run] * 20, "total_size": 100, "next_page_token": "x" * 400}


def serve_bare(port: int) -> Any:
    """The bare app served exactly like EmulatorServer serves the emulator."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(
        bare_app(), host=HOST, port=port, log_level="warning", access_log=False,
        lifespan="on", loop="auto", http="auto"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    return server


def server_main(kind: str, port: int, namespaces: int, targets_file: str) -> None:
    """``--serve``: build, listen on ``port``, report on stdout; "rss" on stdin reports memory,
    end of stdin stops."""
    started = time.perf_counter()
    info: dict[str, Any] = {"kind": kind, "port": port}
    if kind == "bare":
        serve_bare(port)
    else:
        from emulator.serving import EmulatorServer

        emulator, targets = build_emulator(namespaces, RUNS_PER_NAMESPACE)
        info["runs"] = len(emulator.kfp.state.runs)
        Path(targets_file).write_text(json.dumps(targets))
        del targets
        EmulatorServer(emulator, port=port).start()
    gc.collect()
    info.update(build_seconds=time.perf_counter() - started, rss_mb=rss_mb())
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() == "rss":
            print(json.dumps({"rss_mb": rss_mb()}), flush=True)


class ServerProcess:
    def __init__(self, kind: str, namespaces: int = 0) -> None:
        self.kind = kind
        self.port = free_port()
        handle, name = tempfile.mkstemp(suffix=".json", prefix="bench-targets-")
        os.close(handle)
        self._targets = Path(name)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(self.port),
             "--namespaces", str(namespaces), "--targets-file", str(self._targets)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=PROJECT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{kind} server process failed to start")
        self.info: dict[str, Any] = json.loads(line)
        text = self._targets.read_text()
        self.targets: list[dict[str, str]] = json.loads(text) if text else []

    def rss_mb(self) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("rss\n")
        self.proc.stdin.flush()
        return float(json.loads(self.proc.stdout.readline())["rss_mb"])

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._targets.unlink(missing_ok=True)


# -- load generators -----------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    requests: int
    errors: int  # non-200 answers or broken connections


WRK_SCRIPT = """
local requests = {}
init = function(args)
  for line in io.lines(args[1]) do
    local path, user = line:match("([^\\t]+)\\t([^\\t]+)")
    requests[#requests + 1] = "GET " .. path .. " HTTP/1.1\\r\\nHost: " .. args[2] ..
      "\\r\\n" .. args[3] .. ": " .. user .. "\\r\\n\\r\\n"
  end
  math.randomseed(os.time())
end
request = function()
  return requests[math.random(#requests)]
end
"""


class WrkClient:
    name = "wrk"

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self._dir = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
        (self._dir / "random.lua").write_text(WRK_SCRIPT)

    def run(self, port: int, requests: list[tuple[str, str]], seconds: float) -> Load:
        paths = self._dir / "requests.tsv"
        paths.write_text("".join(f"{path}\t{user}\n" for path, user in requests))
        command = ["wrk", "-t1", f"-c{self.connections}", f"-d{max(1, round(seconds))}s",
                   "-s", str(self._dir / "random.lua"), f"http://{HOST}:{port}", "--",
                   str(paths), f"{HOST}:{port}", USERID_HEADER]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s*([\d.]+)", output).group(1))  # type: ignore
        total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore
        non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
        socket_errors = re.search(r"Socket errors:.*", output)
        errors = int(non_2xx.group(1)) if non_2xx else 0
        if socket_errors:
            errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
        return Load(rps, total, errors)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


_WORKER_REQUESTS: list[bytes] = []


def _python_worker(port: int, connections: int, seconds: float, seed: int,
                   results: Any) -> None:
    """One client process: ``connections`` keep-alive sockets, one request in flight on each."""
    rng = random.Random(seed)
    pool = _WORKER_REQUESTS
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    for _ in range(connections):
        sock = socket.create_connection((HOST, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        buffers[sock] = bytearray()
        selector.register(sock, selectors.EVENT_READ)
        sock.sendall(pool[rng.randrange(len(pool))])
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = cast(socket.socket, key.fileobj)
            buf = buffers[sock]
            try:
                chunk = sock.recv(262144)
            except BlockingIOError:
                continue
            if not chunk:
                errors += 1
                selector.unregister(sock)
                continue
            buf += chunk
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                continue
            length = _content_length(buf, end)
            if len(buf) < end + 4 + length:
                continue
            if buf[9:12] != b"200":
                errors += 1
            del buf[:end + 4 + length]
            done += 1
            sock.sendall(pool[rng.randrange(len(pool))])
    results.put((done, errors))


class PythonClient:
    name = "python raw-socket keep-alive client"

    def __init__(self, connections: int, processes: int) -> None:
        self.connections = connections
        self.processes = processes

    def run(self, port: int, requests: list[tuple[str, str]], seconds: float) -> Load:
        global _WORKER_REQUESTS
        _WORKER_REQUESTS = [request_bytes(path, user, port) for path, user in requests]
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        per_process = max(1, self.connections // self.processes)
        workers = [context.Process(target=_python_worker,
                                   args=(port, per_process, seconds, seed, results))
                   for seed in range(self.processes)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        outcomes = [results.get() for _ in workers]
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()
        total = sum(done for done, _ in outcomes)
        return Load(total / max(elapsed, seconds), total, sum(e for _, e in outcomes))

    def close(self) -> None:
        pass


Probe = tuple[int, list[tuple[str, str]]]  # a server's port and the requests it is sent


def latency_ms(probes: list[Probe], count: int) -> list[tuple[float, float]]:
    """Median and 95th percentile (ms) per server of one-at-a-time requests, one keep-alive
    connection each; the servers are probed alternately so machine noise hits them alike."""
    rng = random.Random(7)
    samples: list[list[float]] = [[] for _ in probes]
    socks = [socket.create_connection((HOST, port)) for port, _ in probes]
    try:
        for sock in socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffers = [bytearray() for _ in probes]
        for index in range(count + count // 10):
            for number, ((port, requests), sock) in enumerate(zip(probes, socks, strict=True)):
                path, user = requests[rng.randrange(len(requests))]
                payload = request_bytes(path, user, port)
                started = time.perf_counter()
                sock.sendall(payload)
                status = _recv_response(sock, buffers[number])
                elapsed = time.perf_counter() - started
                if status != 200:
                    raise RuntimeError(f"latency probe of {path} answered {status}")
                if index >= count // 10:  # the first tenth warms up
                    samples[number].append(elapsed * 1000)
    finally:
        for sock in socks:
            sock.close()
    out = []
    for series in samples:
        series.sort()
        out.append((statistics.median(series), series[int(len(series) * 0.95)]))
    return out


def throughputs(client: WrkClient | PythonClient, probes: list[Probe], seconds: float,
                repeats: int) -> list[list[Load]]:
    """``repeats`` rounds measuring every server in turn (after a one-second warm-up each), so
    that a slow spell of the machine hits the bare endpoint and the emulator alike."""
    for port, requests in probes:
        client.run(port, requests, 1)
    rounds: list[list[Load]] = [[] for _ in probes]
    for _ in range(repeats):
        for number, (port, requests) in enumerate(probes):
            rounds[number].append(client.run(port, requests, seconds))
    return rounds


def median_rps(loads: list[Load]) -> float:
    return statistics.median(load.rps for load in loads)


def median_ratio(loads: list[Load], bare: list[Load]) -> float:
    """The median over rounds of the rate relative to the same round's bare rate."""
    return statistics.median(a.rps / b.rps for a, b in zip(loads, bare, strict=True))


# -- start-up figures ----------------------------------------------------------------------------


# The package's quick-start API with the standard cast's profiles (spelled out: importing
# emulator.testing would add the requests library, which a server does not need).
COLD_EMULATOR = """
import sys
from emulator import Emulator, EmulatorServer, ProfileSpec
profiles = [ProfileSpec("alice", "alice@example.com",
                        (("carol@example.com", "edit"), ("victor@example.com", "view"))),
            ProfileSpec("bob", "bob@example.com")]
EmulatorServer(Emulator(profiles=profiles), port=int(sys.argv[1])).start()
sys.stdin.read()
"""

COLD_BARE = """
import asyncio, sys, threading
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def endpoint(request):
    return JSONResponse({"status": "ok"})
app = Starlette(routes=[Route("/bare", endpoint)])
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]),
                                      log_level="warning", access_log=False))
threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True).start()
sys.stdin.read()
"""


def _probe(port: int, path: str) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
            return _recv_response(sock, bytearray()) == 200
    except OSError:
        return False


def cold_start_seconds(code: str, path: str) -> float:
    """From spawning the interpreter to the first 200 on ``path``."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)
    try:
        while not _probe(port, path):
            if proc.poll() is not None:
                raise RuntimeError("server process exited before answering")
            if time.perf_counter() - started > 30:
                raise RuntimeError("server did not answer within 30 s")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def in_process_start_seconds(repeats: int) -> tuple[float, float]:
    """Median ``EmulatorServer.start()`` and bare uvicorn-thread start, in this process."""
    from emulator.core import Emulator
    from emulator.serving import EmulatorServer
    from emulator.testing import standard_profiles

    emulator_times, bare_times = [], []
    for _ in range(repeats):
        server = EmulatorServer(Emulator(profiles=standard_profiles()))
        started = time.perf_counter()
        server.start()
        emulator_times.append(time.perf_counter() - started)
        server.stop()
        started = time.perf_counter()
        bare = serve_bare(free_port())
        bare_times.append(time.perf_counter() - started)
        bare.should_exit = True
        time.sleep(0.05)
    return statistics.median(emulator_times), statistics.median(bare_times)


# -- the report ----------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str
    target: str
    ratio: str
    verdict: str


def _verdict(ok: bool | None) -> str:
    return "info" if ok is None else ("PASS" if ok else "FAIL")


def print_table(rows: list[Row]) -> None:
    header = Row("figure", "value", "target", "ratio to bare", "result")
    widths = [max(len(getattr(r, f)) for r in [header, *rows])
              for f in ("figure", "value", "target", "ratio", "verdict")]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for row in [header, *rows]:
        cells = (row.figure, row.value, row.target, row.ratio, row.verdict)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if row is header:
            print(line)
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller data (smoke run)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per throughput measurement (default 5, quick 2)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve", choices=("bare", "emulator"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--namespaces", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--targets-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server_main(args.serve, args.port, args.namespaces, args.targets_file)
        return

    scale = 10 if args.quick else 1
    namespaces = 1000 // scale
    small_namespaces = 1000 // RUNS_PER_NAMESPACE // scale + 1  # the tenant + ~1,000 others
    duration = args.duration or (2.0 if args.quick else 5.0)
    latency_count = 500 if args.quick else 2000
    repeats = 3
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    if args.client == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not on PATH")
    client: WrkClient | PythonClient = (
        WrkClient(args.connections) if use_wrk
        else PythonClient(args.connections, processes=max(1, (os.cpu_count() or 2) - 1)))

    print(f"kfp-isolation emulator benchmark ({'quick' if args.quick else 'full'}): "
          f"{namespaces * RUNS_PER_NAMESPACE:,} runs in {namespaces:,} namespaces; "
          f"load generator: {client.name}"
          + (" (wrk found on PATH)" if use_wrk else " (chosen with --client)"
             if args.client == "python" else " (wrk not on PATH)")
          + f", {args.connections} connections, {duration:g} s per figure; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; data plane on (runs "
          "execute: workflows, pods, objects, ML Metadata)", flush=True)
    rows: list[Row] = []

    # Start-up.
    startup_repeats = 5
    cold = statistics.median(cold_start_seconds(COLD_EMULATOR, "/apis/v2beta1/healthz")
                             for _ in range(startup_repeats))
    cold_bare = statistics.median(cold_start_seconds(COLD_BARE, BARE_PATH)
                                  for _ in range(startup_repeats))
    rows.append(Row("cold start to first healthy response", f"{cold:.3f} s", "< 0.5 s",
                    f"{cold / cold_bare:.2f}x ({cold_bare:.3f} s)", _verdict(cold < 0.5)))
    started_in_process, started_bare = in_process_start_seconds(startup_repeats)
    rows.append(Row("in-process EmulatorServer.start()", f"{started_in_process * 1000:.1f} ms",
                    "-", f"{started_in_process / started_bare:.2f}x "
                    f"({started_bare * 1000:.1f} ms)", _verdict(None)))
    print(f"  start-up measured (median of {startup_repeats})", flush=True)

    # All servers at once, measured in alternation: the bare endpoint, one tenant among ~1,000
    # runs of others, and the full data set.
    bare = ServerProcess("bare")
    small = ServerProcess("emulator", small_namespaces)
    big = ServerProcess("emulator", namespaces)
    try:
        runs = len(big.targets)
        small_others = len(small.targets) - RUNS_PER_NAMESPACE
        print(f"  built {runs:,} runs in {big.info['build_seconds']:.1f} s "
              f"(server RSS {big.info['rss_mb']:.0f} MB)", flush=True)
        bare_requests = [(BARE_PATH, "someone@example.com")]
        tenant = [(f"/apis/v2beta1/runs?namespace={namespace_name(0)}&page_size=20", owner_of(0))]
        [(bare_latency, _), (small_latency, small_p95), (big_latency, big_p95)] = latency_ms(
            [(bare.port, bare_requests), (small.port, tenant), (big.port, tenant)],
            latency_count)
        small.stop()
        by_id = [(f"/apis/v2beta1/runs/{t['run_id']}", t["owner"]) for t in big.targets]
        lists = [(f"/apis/v2beta1/runs?namespace={namespace_name(i)}&page_size=20", owner_of(i))
                 for i in range(namespaces)]
        bare_loads, page_loads, get_loads, list_loads = throughputs(client, [
            (bare.port, bare_requests), (bare.port, [(BARE_PAGE_PATH, "someone@example.com")]),
            (big.port, by_id), (big.port, lists)], duration, repeats)
        bare_rss = bare.rss_mb()
        rss_built = float(big.info["rss_mb"])
        rss_after = big.rss_mb()
    finally:
        for server in (bare, small, big):
            server.stop()
    client.close()

    bare_rps = median_rps(bare_loads)
    print(f"  bare endpoint: {bare_rps:,.0f} req/s, {bare_latency:.3f} ms", flush=True)
    for label, loads in ((f"get run by id (of {runs:,} runs)", get_loads),
                         (f"list runs, page of 20 ({namespaces:,} namespaces)", list_loads)):
        ratio = median_ratio(loads, bare_loads)
        errors = sum(load.errors for load in loads)
        rows.append(Row(label, f"{median_rps(loads):,.0f} req/s"
                        + (f", {errors} errors" if errors else ""), ">= 0.5x bare",
                        f"{ratio:.3f}x ({bare_rps:,.0f} req/s)",
                        _verdict(ratio >= 0.5 and errors == 0)))
    rows.append(Row("  bare endpoint sending a list-sized body",
                    f"{median_rps(page_loads):,.0f} req/s", "-",
                    f"{median_ratio(page_loads, bare_loads):.2f}x", _verdict(None)))
    rows.append(Row(f"list latency p50, tenant + {small_others:,} other runs",
                    f"{small_latency:.3f} ms (p95 {small_p95:.3f})", "-",
                    f"{small_latency / bare_latency:.2f}x ({bare_latency:.3f} ms)",
                    _verdict(None)))
    rows.append(Row(f"list latency p50, tenant + {runs - RUNS_PER_NAMESPACE:,} other runs",
                    f"{big_latency:.3f} ms (p95 {big_p95:.3f})",
                    "<= 1.5x the previous",
                    f"{big_latency / bare_latency:.2f}x ({bare_latency:.3f} ms)",
                    _verdict(big_latency <= 1.5 * small_latency)))
    rows.append(Row("  growth of list latency", f"{big_latency / small_latency:.2f}x", "<= 1.5x",
                    "-", _verdict(big_latency <= 1.5 * small_latency)))
    rss = max(rss_built, rss_after)
    rows.append(Row(f"server RSS with {runs:,} runs",
                    f"{rss:.0f} MB (built {rss_built:.0f}, after load {rss_after:.0f})",
                    "< 250 MB" if not args.quick else "< 250 MB (full run)",
                    f"{rss / bare_rss:.2f}x ({bare_rss:.0f} MB)", _verdict(rss < 250)))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
