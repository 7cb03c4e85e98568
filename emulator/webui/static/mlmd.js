// A small ML Metadata client for the browser: binary gRPC-web (application/grpc-web+proto) to
// /ml_metadata.MetadataStoreService/<Method> on the page's origin, as the KFP UI's generated
// client sends it (its host is '', so the path is absolute: in Kubeflow the gateway routes
// /ml_metadata to metadata-envoy; behind a port-forward the UI server proxies it), with a
// hand-written protobuf encoder/decoder for the few messages the run page needs.
// Field numbers are those of ml-metadata's metadata_store.proto / metadata_store_service.proto.
"use strict";

(function () {
  const SERVICE = "/ml_metadata.MetadataStoreService/";
  const EVENT_TYPES = ["UNKNOWN", "DECLARED_OUTPUT", "DECLARED_INPUT", "INPUT", "OUTPUT",
    "INTERNAL_INPUT", "INTERNAL_OUTPUT", "PENDING_OUTPUT"];
  const EXECUTION_STATES = ["UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED",
    "CANCELED"];
  const ARTIFACT_STATES = ["UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED",
    "ABANDONED", "REFERENCE"];

  // A failed request, with what was asked and what the server answered (shown verbatim).
  class RequestError extends Error {
    constructor(request, status, statusText, body) {
      super(`${request} -> ${status} ${statusText}`);
      this.request = request;
      this.status = status;
      this.statusText = statusText;
      this.body = body;
    }
  }

  // -- encoding ----------------------------------------------------------------------------

  class Writer {
    constructor() { this.bytes = []; }
    varint(n) {
      let v = Math.floor(n);
      while (v >= 0x80) { this.bytes.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
      this.bytes.push(v);
      return this;
    }
    tag(field, wire) { return this.varint(field * 8 + wire); }
    int64(field, n) { return this.tag(field, 0).varint(n); }
    string(field, text) {
      const data = new TextEncoder().encode(text);
      this.tag(field, 2).varint(data.length);
      for (const b of data) this.bytes.push(b);
      return this;
    }
    finish() { return Uint8Array.from(this.bytes); }
  }

  // -- decoding: a message as {field number: [values]} -------------------------------------

  function fields(buf) {
    const out = new Map();
    let pos = 0;
    function varint() {
      let result = 0, scale = 1, byte;
      do {
        if (pos >= buf.length) throw new Error("truncated protobuf varint");
        byte = buf[pos++];
        result += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte & 0x80);
      return result;
    }
    while (pos < buf.length) {
      const key = varint();
      const field = Math.floor(key / 8), wire = key % 8;
      let value;
      if (wire === 0) value = varint();
      else if (wire === 1) { value = buf.subarray(pos, pos + 8); pos += 8; }
      else if (wire === 2) { const n = varint(); value = buf.subarray(pos, pos + n); pos += n; }
      else if (wire === 5) { value = buf.subarray(pos, pos + 4); pos += 4; }
      else throw new Error(`unsupported protobuf wire type ${wire}`);
      if (pos > buf.length) throw new Error("truncated protobuf message");
      if (!out.has(field)) out.set(field, []);
      out.get(field).push({ wire, value });
    }
    return out;
  }
  const all = (m, f) => (m.get(f) || []).map((x) => x.value);
  const one = (m, f) => { const v = all(m, f); return v.length ? v[v.length - 1] : undefined; };
  const text = (b) => (b === undefined ? "" : new TextDecoder().decode(b));
  const double = (b) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  // Packed or not, a repeated varint field.
  function varints(m, f) {
    const values = [];
    for (const { wire, value } of m.get(f) || []) {
      if (wire === 0) { values.push(value); continue; }
      let pos = 0;
      while (pos < value.length) {
        let result = 0, scale = 1, byte;
        do { byte = value[pos++]; result += (byte & 0x7f) * scale; scale *= 128; }
        while (byte & 0x80);
        values.push(result);
      }
    }
    return values;
  }

  function decodeValue(buf) {  // ml_metadata.Value
    const m = fields(buf);
    if (m.has(1)) return one(m, 1);
    if (m.has(2)) return double(one(m, 2));
    if (m.has(3)) return text(one(m, 3));
    if (m.has(6)) return one(m, 6) !== 0;
    if (m.has(4)) return "(struct)";
    if (m.has(5)) return "(proto)";
    return null;
  }
  function decodeMap(m, f) {  // map<string, Value>
    const out = {};
    for (const entry of all(m, f)) {
      const e = fields(entry);
      out[text(one(e, 1))] = e.has(2) ? decodeValue(one(e, 2)) : null;
    }
    return out;
  }
  function decodeArtifact(buf) {
    const m = fields(buf);
    return { id: one(m, 1), typeId: one(m, 2), uri: text(one(m, 3)), name: text(one(m, 7)),
      type: text(one(m, 8)), state: ARTIFACT_STATES[one(m, 6) || 0] || "UNKNOWN",
      properties: decodeMap(m, 4), customProperties: decodeMap(m, 5) };
  }
  function decodeExecution(buf) {
    const m = fields(buf);
    return { id: one(m, 1), typeId: one(m, 2), name: text(one(m, 6)), type: text(one(m, 7)),
      state: EXECUTION_STATES[one(m, 3) || 0] || "UNKNOWN",
      properties: decodeMap(m, 4), customProperties: decodeMap(m, 5) };
  }
  function decodeEvent(buf) {
    const m = fields(buf);
    const steps = [];
    const path = one(m, 3);
    if (path !== undefined) {
      for (const step of all(fields(path), 1)) {
        const s = fields(step);
        steps.push(s.has(2) ? text(one(s, 2)) : String(one(s, 1)));
      }
    }
    return { artifactId: one(m, 1), executionId: one(m, 2), path: steps,
      type: EVENT_TYPES[one(m, 4) || 0] || "UNKNOWN" };
  }

  // -- gRPC-web ----------------------------------------------------------------------------

  function trailerStatus(textBlock) {
    const out = {};
    for (const line of textBlock.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return out;
  }

  async function call(method, message) {
    const request = `POST ${SERVICE}${method}`;
    const frame = new Uint8Array(5 + message.length);
    new DataView(frame.buffer).setUint32(1, message.length);
    frame.set(message, 5);
    const response = await fetch(SERVICE + method, {
      method: "POST", credentials: "same-origin", body: frame,
      headers: { "Content-Type": "application/grpc-web+proto",
        "Accept": "application/grpc-web+proto", "X-Grpc-Web": "1" } });
    const buf = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) {
      throw new RequestError(request, response.status, response.statusText, text(buf));
    }
    let status = response.headers.get("grpc-status");
    let statusMessage = response.headers.get("grpc-message") || "";
    let data = null;
    let pos = 0;
    while (pos < buf.length) {
      if (pos + 5 > buf.length) throw new RequestError(request, 200, "bad gRPC-web frame", "");
      const flag = buf[pos];
      const length = new DataView(buf.buffer, buf.byteOffset + pos + 1, 4).getUint32(0);
      const body = buf.subarray(pos + 5, pos + 5 + length);
      if (body.length !== length) {
        throw new RequestError(request, 200, "truncated gRPC-web frame", "");
      }
      pos += 5 + length;
      if (flag & 0x80) {
        const trailers = trailerStatus(text(body));
        if (trailers["grpc-status"] !== undefined) status = trailers["grpc-status"];
        if (trailers["grpc-message"] !== undefined) statusMessage = trailers["grpc-message"];
      } else if (data === null) {
        data = body;
      }
    }
    if (status !== null && status !== "0") {
      let decoded = statusMessage;
      try { decoded = decodeURIComponent(statusMessage); } catch (e) { /* keep it raw */ }
      throw new RequestError(request, response.status, `grpc-status ${status}`, decoded);
    }
    if (data === null) throw new RequestError(request, 200, "no gRPC-web data frame", "");
    return fields(data);
  }

  // -- the run page's question: which artifacts did each task of this run write? -----------

  async function runArtifacts(runId) {
    const found = await call("GetContextByTypeAndName",
      new Writer().string(1, "system.PipelineRun").string(2, runId).finish());
    const context = one(found, 1);
    if (context === undefined) return { context: null, executions: [], artifacts: [] };
    const contextId = one(fields(context), 1);
    const [executionsMsg, artifactsMsg] = await Promise.all([
      call("GetExecutionsByContext", new Writer().int64(1, contextId).finish()),
      call("GetArtifactsByContext", new Writer().int64(1, contextId).finish())]);
    const executions = all(executionsMsg, 1).map(decodeExecution);
    const artifacts = all(artifactsMsg, 1).map(decodeArtifact);
    let events = [];
    if (executions.length) {
      const w = new Writer();
      for (const e of executions) w.int64(1, e.id);
      events = all(await call("GetEventsByExecutionIDs", w.finish()), 1).map(decodeEvent);
    }
    const byId = new Map(executions.map((e) => [e.id, e]));
    const rows = [];
    const seen = new Set();
    for (const ev of events) {
      if (ev.type !== "OUTPUT") continue;
      const artifact = artifacts.find((a) => a.id === ev.artifactId);
      if (!artifact) continue;
      const execution = byId.get(ev.executionId);
      const cp = execution ? execution.customProperties : {};
      rows.push({ artifact, output: ev.path.join("/") || artifact.name,
        task: String(cp.task_name || cp.display_name || (execution ? execution.name : "")) });
      seen.add(artifact.id);
    }
    for (const artifact of artifacts) {  // written without an event: still show them
      if (!seen.has(artifact.id)) rows.push({ artifact, output: artifact.name, task: "" });
    }
    return { context: contextId, executions, artifacts: rows };
  }

  window.Mlmd = { runArtifacts, RequestError, _internal: { Writer, fields, decodeArtifact } };
})();
