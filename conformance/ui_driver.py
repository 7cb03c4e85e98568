"""Drive the emulator's web UI in a real browser (Playwright, sync API, a system Chromium).

The conformance suite's UI steps use :class:`UiDriver`.  It knows only the page (its element ids
and ``data-testid`` attributes) and Kubeflow's login flow (oauth2-proxy's sign-in page, then
Dex's password form), so it drives any deployment that serves this UI under ``/pipeline/``, not
just the in-process emulator.

Playwright is an optional dependency and its own browser download is never used: the browser is
the system's Chromium (``$KFP_ISOLATION_CHROMIUM`` or ``/usr/bin/chromium``).  Call
:func:`available` first; it says why the driver cannot run, or ``None``.

Every action waits until the page has finished rendering what it triggered (the page counts its
renders in ``<body data-renders>``), so a read right after an action sees its outcome.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

__all__ = ["CHROMIUM_ARGS", "UiDriver", "UiError", "available", "default_chromium"]

CHROMIUM_ENV = "KFP_ISOLATION_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Headless Chromium as root in a container: no sandbox, no GPU, no /dev/shm, no background chatter.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
UI_PATH = "/pipeline/"
DEX_INVALID = "Invalid Email Address and password"


class UiError(RuntimeError):
    """The UI did not do what was asked (the message says what it showed instead)."""


def default_chromium() -> str:
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def available(chromium: str | None = None) -> str | None:
    """Why the driver cannot run here, or ``None`` when it can."""
    path = chromium or default_chromium()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
        return (f"no Chromium at {path} (install the distribution's chromium package or set "
                f"${CHROMIUM_ENV})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


class UiDriver:
    """One browser; each :meth:`sign_in` opens a fresh context (no cookies, no storage)."""

    def __init__(self, gateway_url: str, chromium: str | None = None, *,
                 timeout_seconds: float = 20.0, headless: bool = True) -> None:
        reason = available(chromium)
        if reason is not None:
            raise UiError(f"the UI driver cannot run: {reason}")
        from playwright.sync_api import sync_playwright

        self.gateway_url = gateway_url.rstrip("/")
        self.timeout_ms = timeout_seconds * 1000
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium or default_chromium(), headless=headless,
                args=CHROMIUM_ARGS)
        except Exception:
            self._playwright.stop()
            raise
        self._context: Any = None
        self._page: Any = None

    # -- session ---------------------------------------------------------------------------

    @property
    def has_page(self) -> bool:
        """Whether a page is open (someone signed in since the driver started)."""
        return self._page is not None

    @property
    def page(self) -> Any:
        if self._page is None:
            raise UiError("nobody is signed in: call sign_in() first")
        return self._page

    def _new_page(self) -> Any:
        if self._context is not None:
            self._context.close()
        self._context = self._browser.new_context(viewport={"width": 1280, "height": 900})
        self._context.set_default_timeout(self.timeout_ms)
        self._page = self._context.new_page()
        return self._page

    def sign_in(self, email: str, password: str) -> None:
        """Kubeflow's login as a person does it: the UI's address, oauth2-proxy's sign-in page,
        Dex's form; ends on the UI, rendered."""
        page = self._new_page()
        page.goto(self.gateway_url + UI_PATH)
        if page.locator("#sign-in").count():
            page.click("#sign-in")
        elif not page.locator("#login").count() and not self._is_ui(page):
            start = urlencode({"rd": UI_PATH})
            page.goto(f"{self.gateway_url}/oauth2/start?{start}")
        if urlsplit(page.url).path.endswith("/auth"):  # Dex's connector chooser
            page.click("a[href*='/auth/local']")
        if not self._is_ui(page):
            page.fill("#login", email)
            page.fill("#password", password)
            page.click("#submit-login")
            page.wait_for_load_state()
            if DEX_INVALID in page.content():
                raise UiError(f"Dex refused the credentials of {email}: {DEX_INVALID}")
            if urlsplit(page.url).path.endswith("/approval"):
                page.click("button[type=submit]")
        if not self._is_ui(page):
            raise UiError(f"the login did not end on the UI but on {page.url}")
        self._wait_ready()

    @staticmethod
    def _is_ui(page: Any) -> bool:
        return bool(page.locator("[data-testid=view]").count())

    # The page's Content-Security-Policy forbids eval: every script given to the page is a
    # function, never a bare expression.
    def _renders(self) -> int:
        return int(self.page.evaluate("() => Number(document.body.dataset.renders || 0)"))

    def _wait_ready(self, after: int = 0) -> None:
        """Until the page finished a render that started after the action."""
        self.page.wait_for_function(
            "n => Number(document.body.dataset.renders || 0) > n"
            " && document.body.dataset.ready === 'true'", arg=after)

    def _act(self, action: Any) -> None:
        before = self._renders()
        action()
        self._wait_ready(before)

    # -- namespaces --------------------------------------------------------------------------

    def signed_in_user(self) -> str:
        return str(self.page.inner_text("[data-testid=user]")).strip()

    def namespaces(self) -> list[str]:
        """The namespaces the picker offers (the dashboard's list for this user)."""
        values = self.page.eval_on_selector_all(
            "[data-testid=namespace] option", "os => os.filter(o => !o.disabled).map(o => o.value)")
        return [str(v) for v in values]

    def current_namespace(self) -> str:
        """The namespace the page shows (chosen, remembered or forced by the address)."""
        return str(self.page.evaluate("() => document.body.dataset.namespace || ''"))

    def choose_namespace(self, namespace: str) -> None:
        """Pick ``namespace`` in the picker; a namespace it does not offer is an error."""
        offered = self.namespaces()
        if namespace not in offered:
            raise UiError(f"the namespace picker does not offer {namespace!r} "
                          f"(it offers {offered})")
        if self.current_namespace() == namespace and \
                self.page.input_value("[data-testid=namespace]") == namespace:
            self.open_home()
            return
        self._act(lambda: self.page.select_option("[data-testid=namespace]", namespace))

    def force_namespace(self, namespace: str) -> None:
        """Open the UI at ``?namespace=<namespace>`` whether or not the picker offers it: the
        page then shows what the API answers for it."""
        self.page.goto(f"{self.gateway_url}{UI_PATH}?{urlencode({'namespace': namespace})}")
        self._wait_ready(0)  # a new document counts its renders from zero

    def reload(self) -> None:
        """Reload the page the browser is on (a new document: choices come from storage)."""
        self.page.reload()
        self._wait_ready(0)

    def open_home(self) -> None:
        """Load the namespace's page afresh (an address without a fragment: a new document,
        never a same-document hash change)."""
        namespace = self.current_namespace()
        query = f"?{urlencode({'namespace': namespace})}" if namespace else ""
        self.page.goto(f"{self.gateway_url}{UI_PATH}{query}")
        self._wait_ready(0)

    # -- lists and creation ------------------------------------------------------------------

    def _on_home(self) -> None:
        if self.page.locator("[data-testid=experiments]").count() == 0:
            self.open_home()

    def _names(self, table: str, row: str) -> list[str]:
        self._on_home()
        texts = self.page.eval_on_selector_all(
            f"[data-testid={table}] [data-testid={row}] [data-testid=name]",
            "cells => cells.map(c => c.textContent)")
        return [str(t) for t in texts]

    def experiments(self) -> list[str]:
        """Display names of the experiments the page lists (empty when the list call failed:
        see :meth:`last_error`)."""
        return self._names("experiments", "experiment-row")

    def runs(self) -> list[str]:
        return self._names("runs", "run-row")

    def recurring_runs(self) -> list[str]:
        return self._names("recurring-runs", "recurring-run-row")

    def create_experiment(self, name: str) -> None:
        """Create an experiment in the chosen namespace; the UI's error is raised as UiError."""
        self._on_home()
        self.page.fill("[data-testid=new-experiment-name]", name)
        self._act(lambda: self.page.click("#create-experiment"))
        self._raise_shown_error(f"creating the experiment {name!r}")

    def create_run(self, name: str, experiment: str) -> None:
        """Start a run of the UI's bundled demo pipeline in the experiment named ``experiment``."""
        self._on_home()
        labels = self.page.eval_on_selector_all(
            "[data-testid=new-run-experiment] option", "os => os.map(o => o.textContent)")
        if experiment not in labels:
            raise UiError(f"the run form offers no experiment {experiment!r} (it offers "
                          f"{labels})")
        self.page.select_option("[data-testid=new-run-experiment]", label=experiment)
        self.page.fill("[data-testid=new-run-name]", name)
        self._act(lambda: self.page.click("#create-run"))
        self._raise_shown_error(f"creating the run {name!r}")

    def _raise_shown_error(self, what: str) -> None:
        error = self.last_error()
        if error is not None:
            raise UiError(f"{what} failed; the UI shows: {error}")

    # -- run details -------------------------------------------------------------------------

    def open_run(self, name: str) -> dict[str, Any]:
        """Open the run called ``name`` from the list; its page as data:
        ``{"id", "name", "state", "error", "tasks": [{"name", "state", "pod", "logs"}],
        "artifacts": [{"task", "output", "uri", "link"}]}`` (links absolute)."""
        self._on_home()
        link = self.page.locator("[data-testid=run-row] [data-testid=name] a",
                                 has_text=name).first
        if link.count() == 0 or link.inner_text().strip() != name:
            matches = [t.strip() for t in self.runs()]
            if name not in matches:
                raise UiError(f"the run list shows no run {name!r} (it shows {matches})")
            link = self.page.locator("[data-testid=run-row] [data-testid=name] a").nth(
                matches.index(name))
        self._act(link.click)
        return self.run_page()

    def refresh_run(self) -> dict[str, Any]:
        self._act(lambda: self.page.click("#refresh-run"))
        return self.run_page()

    def run_page(self) -> dict[str, Any]:
        """What the open run page shows."""
        data: dict[str, Any] = self.page.evaluate("""() => {
          const text = (root, id) => {
            const node = root.querySelector(`[data-testid=${id}]`);
            return node ? node.textContent.trim() : "";
          };
          const href = (root, id) => {
            const node = root.querySelector(`[data-testid=${id}]`);
            return node ? node.href : "";
          };
          return {
            id: text(document, "run-id"), name: text(document, "run-name"),
            state: text(document, "run-state"), error: text(document, "run-error"),
            tasks: [...document.querySelectorAll("[data-testid=task-row]")].map(r => ({
              name: text(r, "name"), state: text(r, "state"),
              pod: r.querySelector("[data-testid=pod]") ?
                r.querySelector("[data-testid=pod]").firstChild?.textContent?.trim() || "" : "",
              logs: href(r, "logs-link")})),
            artifacts: [...document.querySelectorAll("[data-testid=artifact-row]")].map(r => ({
              task: text(r, "task"), output: text(r, "output"), uri: text(r, "uri"),
              link: href(r, "artifact-link")})),
          };
        }""")
        return data

    def get(self, url: str) -> tuple[int, str]:
        """GET ``url`` (absolute, or relative to the gateway) with the signed-in browser's
        cookies: ``(status, body text)``."""
        response = self.page.context.request.get(urljoin(self.gateway_url + "/", url))
        return int(response.status), str(response.text())

    # -- errors, decisions, pictures ---------------------------------------------------------

    def last_error(self) -> str | None:
        """The last error the page shows (the request, its status and the server's answer as
        sent), or ``None``."""
        errors = self.page.locator("[data-testid=errors] [data-testid=error]")
        count = errors.count()
        if count == 0:
            return None
        return str(errors.nth(count - 1).inner_text()).strip()

    def errors(self) -> list[str]:
        texts = self.page.eval_on_selector_all(
            "[data-testid=errors] [data-testid=error]", "es => es.map(e => e.innerText)")
        return [str(t).strip() for t in texts]

    def decisions(self, refused_only: bool = True) -> list[dict[str, str]]:
        """The rows of the emulator's authorization decisions panel (empty where the deployment
        does not serve that view)."""
        loads = "() => Number(document.getElementById('decisions-panel').dataset.loads || 0)"
        box = self.page.locator("#refused-only")
        if box.is_checked() != refused_only:
            before = self.page.evaluate(loads)
            box.set_checked(refused_only)  # its change reloads the panel
            self.page.wait_for_function(f"n => ({loads})() > n", arg=before)
        before = self.page.evaluate(loads)
        self.page.click("#refresh-decisions")
        self.page.wait_for_function(f"n => ({loads})() > n", arg=before)
        rows: list[dict[str, str]] = self.page.eval_on_selector_all(
            "[data-testid=decision-row]", """rows => rows.map(r => Object.fromEntries(
              [...r.querySelectorAll('[data-testid]')].map(
                c => [c.dataset.testid, c.textContent])))""")
        return rows

    def screenshot(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def close(self) -> None:
        try:
            if self._context is not None:
                self._context.close()
            self._browser.close()
        finally:
            self._context = self._page = None
            self._playwright.stop()

    def __enter__(self) -> UiDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
