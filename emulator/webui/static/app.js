// The emulator's web UI: plain DOM, no framework.  Every server-provided string goes in through
// textContent or an attribute, never through innerHTML.  API errors are shown as the server sent
// them.
"use strict";

(function () {
  const API = "/pipeline/apis/v2beta1";
  const STORAGE_KEY = "kfp-webui.namespace";
  const FINAL_STATES = new Set(["SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"]);
  const RequestError = window.Mlmd.RequestError;
  const state = { user: "", namespaces: [], namespace: "", standalone: false,
    pollTimer: null, demoPipeline: null, renderSeq: 0 };

  // -- DOM helpers ---------------------------------------------------------------------------

  // el("td", {className: "x", dataset: {testid: "y"}}, "text", childNode, ...)
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);
  function query(params) {
    return Object.entries(params).filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  }
  function table(testid, headings, rows, emptyText) {
    const body = el("tbody");
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { className: "empty", colSpan: headings.length },
        emptyText)));
    }
    for (const row of rows) body.append(row);
    return el("table", { dataset: { testid } },
      el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", {}, h)))), body);
  }
  const cell = (value, testid) => el("td", testid ? { dataset: { testid } } : {}, value ?? "");
  function stateCell(value) {
    return el("td", { className: `state-${value || "UNKNOWN"}`, dataset: { testid: "state" } },
      value || "");
  }

  // -- errors: verbatim --------------------------------------------------------------------

  function clearErrors() {
    const box = $("errors");
    box.replaceChildren();
    box.hidden = true;
  }
  function showError(err) {
    const box = $("errors");
    const entry = el("div", { className: "error", dataset: { testid: "error" } });
    if (err instanceof RequestError) {
      entry.append(el("div", { className: "what" },
        `${err.request} failed: ${err.status} ${err.statusText}`));
      if (err.body) entry.append(el("pre", { dataset: { testid: "error-body" } }, err.body));
    } else {
      entry.append(el("div", { className: "what" }, String(err && err.message || err)));
    }
    box.append(entry);
    box.hidden = false;
  }
  function notice(message) {
    const box = $("notice");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // -- requests ------------------------------------------------------------------------------

  async function request(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, init);
    const text = await response.text();
    if (!response.ok) throw new RequestError(`${method} ${url}`, response.status,
      response.statusText, text);
    try {
      return text ? JSON.parse(text) : {};
    } catch (e) {
      throw new RequestError(`${method} ${url}`, response.status, "answer is not JSON", text);
    }
  }
  const api = (method, path, params, body) =>
    request(method, `${API}${path}${params ? `?${query(params)}` : ""}`, body);

  // -- who and where -------------------------------------------------------------------------

  async function loadIdentity() {
    let info;
    try {
      info = await request("GET", "/api/workgroup/env-info");
    } catch (err) {
      if (err instanceof RequestError && err.statusText === "answer is not JSON") {
        // Standalone KFP (a port-forward to the UI): no dashboard, no login, no namespaces.
        state.standalone = true;
        state.user = "(standalone KFP: nobody signs in)";
        return;
      }
      throw err;
    }
    state.user = info.user || "";
    const roles = new Map();
    for (const row of info.namespaces || []) {
      if (!roles.has(row.namespace)) roles.set(row.namespace, []);
      if (row.role) roles.get(row.namespace).push(row.role);
    }
    state.namespaces = [...roles.entries()].map(([name, r]) => ({ name, roles: r }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  function chooseInitialNamespace() {
    const fromUrl = new URLSearchParams(location.search).get("namespace");
    const mine = new Set(state.namespaces.map((n) => n.name));
    if (fromUrl !== null) return fromUrl;
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored !== null && mine.has(stored)) return stored;
    return state.namespaces.length ? state.namespaces[0].name : "";
  }

  function renderPicker() {
    const select = $("namespace");
    const options = [el("option", { value: "", disabled: true },
      state.namespaces.length ? "choose a namespace" : "no namespaces")];
    for (const ns of state.namespaces) {
      options.push(el("option", { value: ns.name },
        ns.roles.length ? `${ns.name} (${ns.roles.join(", ")})` : ns.name));
    }
    select.replaceChildren(...options);
    select.value = state.namespaces.some((n) => n.name === state.namespace) ? state.namespace : "";
    select.disabled = state.standalone;
    $("user").textContent = state.user;
    document.body.dataset.namespace = state.namespace;
  }

  // The choice is kept in the address (shareable, reloadable) and in localStorage.
  function remember(name) {
    localStorage.setItem(STORAGE_KEY, name);
    const url = new URL(location.href);
    url.searchParams.set("namespace", name);
    history.replaceState(null, "", url);
  }

  function setNamespace(name) {
    state.namespace = name;
    remember(name);
    renderPicker();
    render();
  }

  function namespaceNotice() {
    if (state.standalone) return "";
    if (!state.namespace) return "Choose a namespace.";
    if (!state.namespaces.some((n) => n.name === state.namespace)) {
      return `Namespace "${state.namespace}" (from the address) is not one of yours; ` +
        "below is what the API answers for it.";
    }
    return "";
  }

  // -- home: experiments, runs, recurring runs of one namespace ------------------------------

  // As the KFP UI lists them: newest first, archived ones left out (the "Active" tab).
  const ACTIVE = JSON.stringify({ predicates: [{ key: "storage_state",
    operation: "NOT_EQUALS", string_value: "ARCHIVED" }] });
  const listParams = (active) => ({ namespace: state.namespace || undefined, page_size: 100,
    sort_by: "created_at desc", filter: active ? ACTIVE : undefined });

  async function settle(promise) {
    try {
      return { value: await promise };
    } catch (err) {
      showError(err);
      return { error: err };
    }
  }
  function failedTable(testid, headings, result) {
    const err = result.error;
    const why = err instanceof RequestError ? `${err.status} ${err.statusText}` : String(err);
    return table(testid, headings, [], `Could not load (${why}); the server's answer is above.`);
  }

  async function renderHome(seq) {
    const ns = state.namespace;
    const [experiments, runs, recurring] = await Promise.all([
      settle(api("GET", "/experiments", listParams(true))),
      settle(api("GET", "/runs", listParams(true))),
      settle(api("GET", "/recurringruns", listParams(false)))]);
    if (seq !== state.renderSeq) return;
    const experimentList = experiments.value ? experiments.value.experiments || [] : [];
    const names = new Map(experimentList.map((e) => [e.experiment_id, e.display_name]));

    const expHead = ["Name", "Description", "Created", "ID"];
    const expTable = experiments.error ? failedTable("experiments", expHead, experiments) :
      table("experiments", expHead, experimentList.map((e) => el("tr",
        { dataset: { testid: "experiment-row", id: e.experiment_id } },
        cell(e.display_name, "name"), cell(e.description), cell(e.created_at),
        cell(e.experiment_id))), "No experiments in this namespace.");

    const runHead = ["Name", "State", "Experiment", "Created", "ID"];
    const runTable = runs.error ? failedTable("runs", runHead, runs) :
      table("runs", runHead, (runs.value.runs || []).map((r) => el("tr",
        { dataset: { testid: "run-row", id: r.run_id } },
        el("td", { dataset: { testid: "name" } }, el("a",
          { href: `#/runs/details/${encodeURIComponent(r.run_id)}` }, r.display_name || r.run_id)),
        stateCell(r.state), cell(names.get(r.experiment_id) || r.experiment_id),
        cell(r.created_at), cell(r.run_id))), "No runs in this namespace.");

    const recHead = ["Name", "Status", "Trigger", "Experiment", "ID"];
    const recTable = recurring.error ? failedTable("recurring-runs", recHead, recurring) :
      table("recurring-runs", recHead, (recurring.value.recurringRuns ||
        recurring.value.recurring_runs || []).map((j) => el("tr",
        { dataset: { testid: "recurring-run-row", id: j.recurring_run_id } },
        cell(j.display_name, "name"), cell(j.status), cell(describeTrigger(j.trigger)),
        cell(names.get(j.experiment_id) || j.experiment_id || ""), cell(j.recurring_run_id))),
      "No recurring runs in this namespace.");

    const expName = el("input", { type: "text", id: "new-experiment-name", required: true,
      placeholder: "experiment name", dataset: { testid: "new-experiment-name" } });
    const expForm = el("form", { className: "inline", dataset: { testid: "create-experiment" },
      on: { submit: (ev) => { ev.preventDefault(); createExperiment(expName.value); } } },
    expName, el("button", { type: "submit", id: "create-experiment" }, "Create experiment"));

    const runName = el("input", { type: "text", id: "new-run-name", required: true,
      placeholder: "run name", dataset: { testid: "new-run-name" } });
    const runExperiment = el("select", { id: "new-run-experiment",
      dataset: { testid: "new-run-experiment" } },
    ...experimentList.map((e) => el("option", { value: e.experiment_id }, e.display_name)));
    const runForm = el("form", { className: "inline", dataset: { testid: "create-run" },
      on: { submit: (ev) => { ev.preventDefault(); createRun(runName.value, runExperiment.value); } } },
    runName, el("label", {}, "in experiment ", runExperiment),
    el("span", { className: "hint" }, "pipeline: the bundled isolation-demo (2 tasks)"),
    el("button", { type: "submit", id: "create-run" }, "Create run"));

    const title = state.standalone ? "All resources" : `Namespace ${ns || "(none)"}`;
    $("view").replaceChildren(
      el("h2", { dataset: { testid: "title" } }, title),
      el("h3", {}, "Experiments"), expForm, expTable,
      el("h3", {}, "Runs"), runForm, runTable,
      el("h3", {}, "Recurring runs"), recTable);
  }

  function describeTrigger(trigger) {
    if (!trigger) return "";
    if (trigger.cron_schedule) return `cron ${trigger.cron_schedule.cron || ""}`;
    if (trigger.periodic_schedule) return `every ${trigger.periodic_schedule.interval_second}s`;
    return "";
  }

  async function createExperiment(name) {
    clearErrors();
    try {
      const body = { display_name: name };
      if (state.namespace) body.namespace = state.namespace;
      const made = await api("POST", "/experiments", null, body);
      notice(`Created experiment "${made.display_name}" (${made.experiment_id}).`);
    } catch (err) {
      showError(err);
    }
    await render({ keepErrors: true });
  }

  async function demoPipeline() {
    if (state.demoPipeline === null) {
      state.demoPipeline = await request("GET", "/pipeline/_emulator/webui/demo-pipeline.json");
    }
    return state.demoPipeline;
  }

  async function createRun(name, experimentId) {
    clearErrors();
    try {
      const body = { display_name: name, pipeline_spec: await demoPipeline(),
        runtime_config: { parameters: { rows: 3 } } };
      if (experimentId) body.experiment_id = experimentId;
      const made = await api("POST", "/runs", null, body);
      notice(`Created run "${made.display_name}" (${made.run_id}).`);
    } catch (err) {
      showError(err);
    }
    await render({ keepErrors: true });
  }

  // -- run details -------------------------------------------------------------------------

  function artifactLink(uri, extra) {
    const match = /^([a-z0-9]+):\/\/([^/]+)\/(.+)$/.exec(uri || "");
    if (!match) return null;
    const source = { minio: "minio", s3: "s3", gs: "gcs", http: "http", https: "https" }[match[1]];
    if (!source) return null;
    return `/pipeline/artifacts/get?${query({ source, bucket: match[2], key: match[3],
      namespace: state.namespace || undefined, ...extra })}`;
  }
  function logsLink(pod) {
    return `/pipeline/k8s/pod/logs?${query({ podname: pod,
      podnamespace: state.namespace || undefined })}`;
  }

  // A button that fetches a text body into a <pre> below it, errors verbatim.
  function peekButton(label, url, testid) {
    const out = el("pre", { hidden: true, dataset: { testid: `${testid}-text` } });
    const button = el("button", { type: "button", dataset: { testid }, on: { click: async () => {
      out.hidden = false;
      out.textContent = "…";
      const response = await fetch(url, { credentials: "same-origin" });
      const text = await response.text();
      if (response.ok) {
        out.textContent = text;
      } else {
        out.textContent = "";
        showError(new RequestError(`GET ${url}`, response.status, response.statusText, text));
      }
    } } }, label);
    return el("span", {}, button, out);
  }

  function taskRows(run) {
    const details = (run.run_details && run.run_details.task_details) || [];
    return details.slice().sort((a, b) => String(a.create_time || "")
      .localeCompare(String(b.create_time || ""))).map((t) => {
      const pod = t.pod_name || ((t.child_tasks || []).find((c) => c.pod_name) || {}).pod_name;
      const outputs = Object.entries(t.outputs || {}).map(([k, v]) =>
        `${k}: ${((v && v.artifact_ids) || []).join(", ")}`).join("; ");
      return el("tr", { dataset: { testid: "task-row" } },
        cell(t.display_name || t.task_id, "name"), stateCell(t.state),
        el("td", { dataset: { testid: "pod" } }, pod || "",
          pod ? el("span", {}, " ", el("a", { href: logsLink(pod), target: "_blank",
            dataset: { testid: "logs-link" } }, "logs"), " ",
          peekButton("show logs", logsLink(pod), "show-logs")) : null),
        cell(t.start_time), cell(t.end_time), cell(outputs),
        cell(t.error ? t.error.message || JSON.stringify(t.error) : ""));
    });
  }

  function formatProps(props) {
    return Object.entries(props || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  }

  async function renderArtifacts(runId, holder, seq) {
    let found;
    try {
      found = await window.Mlmd.runArtifacts(runId);
    } catch (err) {
      if (seq !== state.renderSeq) return;
      showError(err);
      holder.replaceChildren(el("p", { className: "hint" },
        "ML Metadata could not be read; its answer is above."));
      return;
    }
    if (seq !== state.renderSeq) return;
    const rows = found.artifacts.map(({ artifact, output, task }) => {
      const link = artifactLink(artifact.uri);
      return el("tr", { dataset: { testid: "artifact-row", id: String(artifact.id) } },
        cell(task, "task"), cell(output, "output"), cell(artifact.type || artifact.typeId),
        cell(artifact.uri, "uri"), cell(formatProps(artifact.customProperties)),
        el("td", {}, link ? el("span", {},
          el("a", { href: link, target: "_blank", dataset: { testid: "artifact-link" } },
            "download"), " ",
          peekButton("peek", artifactLink(artifact.uri, { peek: 256 }), "peek")) : ""));
    });
    holder.replaceChildren(table("artifacts",
      ["Task", "Output", "Type", "URI", "Properties", ""], rows,
      found.context === null ? "ML Metadata has no context for this run (yet)." :
        "No artifacts recorded for this run."));
  }

  async function renderRun(runId, seq) {
    const result = await settle(api("GET", `/runs/${encodeURIComponent(runId)}`));
    if (seq !== state.renderSeq) return;
    const back = el("p", {}, el("a", { href: "#/" }, "← back to the namespace"));
    if (result.error) {
      $("view").replaceChildren(back, el("p", { className: "hint" },
        "The run could not be read; the server's answer is above."));
      return;
    }
    const run = result.value;
    const facts = el("dl", { className: "facts", dataset: { testid: "run-facts" } });
    const fact = (label, value, testid) => {
      facts.append(el("dt", {}, label), el("dd", testid ? { dataset: { testid } } : {},
        value ?? ""));
    };
    fact("Name", run.display_name, "run-name");
    fact("ID", run.run_id, "run-id");
    fact("State", run.state, "run-state");
    fact("Experiment", run.experiment_id);
    fact("Service account", run.service_account || "(default)");
    fact("Created", run.created_at);
    fact("Finished", run.finished_at);
    if (run.error) fact("Error", run.error.message || JSON.stringify(run.error), "run-error");
    const history = (run.state_history || []).map((s) => `${s.state} at ${s.update_time}`);
    if (history.length) fact("History", history.join(" → "));

    const artifacts = el("div", { dataset: { testid: "artifacts-holder" } },
      el("p", { className: "hint" }, "Reading ML Metadata…"));
    $("view").replaceChildren(back,
      el("h2", {}, `Run ${run.display_name || run.run_id}`),
      el("button", { type: "button", id: "refresh-run", on: { click: () => render() } },
        "Refresh"),
      facts,
      el("h3", {}, "Tasks (run_details.task_details)"),
      table("tasks", ["Task", "State", "Pod", "Started", "Finished", "Outputs (MLMD ids)",
        "Error"], taskRows(run), "No task details yet."),
      el("h3", {}, "Artifacts (from ML Metadata)"), artifacts);
    await renderArtifacts(run.run_id, artifacts, seq);
    if (!FINAL_STATES.has(run.state) && seq === state.renderSeq) {
      state.pollTimer = setTimeout(() => render({ keepErrors: false }), 2000);
    }
  }

  // -- the emulator's decisions panel --------------------------------------------------------

  async function renderDecisions() {
    await loadDecisions();
    const panel = $("decisions-panel");
    panel.dataset.loads = String(Number(panel.dataset.loads || 0) + 1);
  }

  async function loadDecisions() {
    const panel = $("decisions-panel");
    const body = $("decisions").tBodies[0];
    const refused = $("refused-only").checked;
    let answer;
    try {
      answer = await request("GET",
        `/pipeline/_emulator/decisions?${query({ refused, limit: 100 })}`);
    } catch (err) {
      // Not an emulator (or an old one): the panel says so instead of raising an error.
      body.replaceChildren(el("tr", {}, el("td", { colSpan: 8, className: "empty" },
        `This deployment does not serve the emulator's decisions view (${err.status || ""} ` +
        `${err.statusText || err}).`)));
      panel.dataset.available = "false";
      return;
    }
    panel.dataset.available = "true";
    const rows = (answer.decisions || []).map((d) => el("tr",
      { className: d.allowed ? "allowed" : "refused", dataset: { testid: "decision-row" } },
      cell(d.seq), cell(d.user, "user"), cell(d.verb, "verb"),
      cell(d.path || `${d.resource}${d.group ? `.${d.group}` : ""}`, "resource"),
      cell(d.namespace, "namespace"), cell(d.name), cell(d.allowed ? "yes" : "no", "allowed"),
      cell(d.reason, "reason")));
    if (!rows.length) {
      rows.push(el("tr", {}, el("td", { colSpan: 8, className: "empty" },
        refused ? "No refusals recorded." : "No decisions recorded.")));
    }
    body.replaceChildren(...rows);
  }

  // -- routing -------------------------------------------------------------------------------

  async function render(options) {
    const seq = ++state.renderSeq;
    clearTimeout(state.pollTimer);
    if (!(options && options.keepErrors)) clearErrors();
    const message = namespaceNotice();
    if (message || !(options && options.keepErrors)) notice(message);
    document.body.dataset.ready = "false";
    const match = /^#\/runs\/details\/(.+)$/.exec(location.hash);
    try {
      if (match) await renderRun(decodeURIComponent(match[1]), seq);
      else await renderHome(seq);
    } catch (err) {
      showError(err);
    }
    await renderDecisions();
    if (seq === state.renderSeq) finished();
  }

  // The page has shown everything the last action asked for (UI drivers wait for this).
  function finished() {
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    document.body.dataset.ready = "true";
  }

  async function start() {
    $("namespace").addEventListener("change", (ev) => setNamespace(ev.target.value));
    $("refresh-decisions").addEventListener("click", renderDecisions);
    $("refused-only").addEventListener("change", renderDecisions);
    window.addEventListener("hashchange", () => render());
    try {
      await loadIdentity();
    } catch (err) {
      showError(err);
      $("user").textContent = "(unknown)";
      finished();
      return;
    }
    state.namespace = state.standalone ? "" : chooseInitialNamespace();
    if (state.namespace && state.namespaces.some((n) => n.name === state.namespace)) {
      remember(state.namespace);
    }
    renderPicker();
    await render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
