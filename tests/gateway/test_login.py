"""The Dex + oauth2-proxy login flow of full Kubeflow, from the outside
(docs/upstream/kubeflow-platform.md 3.1, 3.2, 4.1-4.3)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import kfp
import pytest
import requests
from kfp_server_api.exceptions import ApiException

from conformance.login import InvalidCredentials, login_cookies
from emulator.core import DEFAULT_PASSWORD
from emulator.testing import OWNER, OWNER_NAMESPACE, STRANGER, assert_denied
from tests.gateway.conftest import V2, Gateway, experiment_body

SDK_WARNING = pytest.mark.filterwarnings(
    "ignore:This client only works with Kubeflow Pipeline:FutureWarning")


class FormParser(HTMLParser):
    """The links and forms of a page, as a browser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and "id" in values:
            self.links[values["id"]] = values.get("href", "")
        elif tag == "form":
            self.forms.append({"action": values.get("action", ""),
                               "method": values.get("method", "get").lower(), "inputs": []})
        elif tag == "input" and self.forms:
            inputs = self.forms[-1]["inputs"]
            assert isinstance(inputs, list)
            inputs.append(values.get("name", ""))


def parse(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


@SDK_WARNING
def test_login_client_and_kfp_sdk_work_through_the_gateway(gw: Gateway, kfp_home: Path) -> None:
    cookie = login_cookies(gw.pipeline_url, OWNER, DEFAULT_PASSWORD)
    assert re.fullmatch(r"oauth2_proxy_kubeflow=[^;\s]+", cookie), cookie

    client = kfp.Client(host=gw.pipeline_url, cookies=cookie)
    created = client.create_experiment("via-gateway", namespace=OWNER_NAMESPACE)
    listed = client.list_experiments(namespace=OWNER_NAMESPACE).experiments or []
    assert [e.experiment_id for e in listed] == [created.experiment_id]
    assert listed[0].display_name == "via-gateway"

    # Bob signs in too, and is refused in alice's namespace by the API server itself.
    bob_cookie = login_cookies(gw.pipeline_url, STRANGER, DEFAULT_PASSWORD)
    bob = kfp.Client(host=gw.pipeline_url, cookies=bob_cookie)
    with pytest.raises(ApiException) as info:
        bob.list_experiments(namespace=OWNER_NAMESPACE)
    assert info.value.status == 403
    raw = requests.get(f"{gw.pipeline_url}{V2}/experiments",
                       params={"namespace": OWNER_NAMESPACE}, headers={"Cookie": bob_cookie})
    body = assert_denied(raw)
    assert body["details"][0]["message"].startswith(f"User '{STRANGER}' is not authorized")


def test_wrong_password_is_a_clear_error(gw: Gateway) -> None:
    assert login_cookies(gw.pipeline_url, OWNER, DEFAULT_PASSWORD)  # positive control
    with pytest.raises(InvalidCredentials, match="credentials are probably invalid"):
        login_cookies(gw.pipeline_url, OWNER, "not-the-password")
    with pytest.raises(InvalidCredentials):
        login_cookies(gw.pipeline_url, "nobody@example.com", DEFAULT_PASSWORD)


def test_unauthenticated_api_gets_401_json_and_pages_get_the_403_sign_in_page(
        gw: Gateway) -> None:
    session = gw.signed_in(OWNER)
    assert session.get(f"{gw.pipeline_url}{V2}/experiments",
                       params={"namespace": OWNER_NAMESPACE}).status_code == 200  # control
    assert session.get(gw.pipeline_url).status_code == 200

    for url in (f"{gw.pipeline_url}{V2}/experiments?namespace=alice",
                f"{gw.url}/api/workgroup/env-info"):
        response = requests.get(url)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.text == "{}"
    # A page path asked for as JSON (isAjax) is an API call too.
    response = requests.get(gw.pipeline_url, headers={"Accept": "application/json"})
    assert (response.status_code, response.text) == (401, "{}")

    page = requests.get(gw.pipeline_url)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert parse(page.text).links["sign-in"] == "/oauth2/start?rd=%2Fpipeline"


def test_a_browser_can_sign_in_with_plain_forms(gw: Gateway) -> None:
    browser = requests.Session()
    page = browser.get(gw.pipeline_url)
    assert page.status_code == 403
    link = urljoin(page.url, parse(page.text).links["sign-in"])

    form_page = browser.get(link)
    assert form_page.status_code == 200
    assert [r.status_code for r in form_page.history] == [302, 302, 302]
    assert "oauth2_proxy_kubeflow_csrf" in browser.cookies
    form = parse(form_page.text).forms[0]
    assert form["method"] == "post" and form["inputs"] == ["login", "password"]
    action = urljoin(form_page.url, str(form["action"]))

    wrong = browser.post(action, data={"login": OWNER, "password": "wrong"})
    assert (wrong.status_code, wrong.history) == (200, [])
    assert "Invalid Email Address and password." in wrong.text

    landed = browser.post(action, data={"login": OWNER, "password": DEFAULT_PASSWORD})
    assert landed.status_code == 200
    assert [r.status_code for r in landed.history] == [303, 302]
    assert urlsplit(landed.history[0].headers["location"]).path == "/oauth2/callback"
    assert urlsplit(landed.url).path == "/pipeline"
    assert list(browser.cookies.keys()) == ["oauth2_proxy_kubeflow"]  # the CSRF cookie expired
    # oauth2-proxy v7.14.3 with the manifests' options: Max-Age, HttpOnly, no SameSite/Expires.
    set_cookie = landed.history[1].headers["set-cookie"]
    assert re.fullmatch(r"oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0; HttpOnly, "
                        r"oauth2_proxy_kubeflow=[\w-]+; Path=/; Max-Age=86400; HttpOnly",
                        set_cookie), set_cookie
    started = form_page.history[0].headers["set-cookie"]
    assert re.fullmatch(r"oauth2_proxy_kubeflow_csrf=[\w-]+; Path=/; Max-Age=900; HttpOnly",
                        started), started

    api = browser.get(f"{gw.pipeline_url}{V2}/experiments", params={"namespace": "alice"})
    assert api.status_code == 200, api.text
    home = browser.get(gw.url + "/")
    assert home.status_code == 200 and OWNER in home.text

    signed_out = browser.get(f"{gw.url}/oauth2/sign_out")
    assert signed_out.status_code == 403  # redirected to /, which needs a session again
    assert browser.get(f"{gw.pipeline_url}{V2}/experiments",
                       params={"namespace": "alice"}).status_code == 401


def test_callback_without_the_csrf_cookie_fails(gw: Gateway) -> None:
    browser = requests.Session()
    form_page = browser.get(f"{gw.url}/oauth2/start?rd=%2Fpipeline")
    assert form_page.status_code == 200  # control: the flow starts
    submitted = browser.post(form_page.url, data={"login": OWNER, "password": DEFAULT_PASSWORD},
                             allow_redirects=False)
    assert submitted.status_code == 303
    callback = urljoin(form_page.url, submitted.headers["location"])
    response = requests.get(callback)  # a different browser: no CSRF cookie
    assert response.status_code == 403
    assert "Login Failed: Unable to find a valid CSRF token. Please try again." in response.text


def test_a_session_lasts_24_hours_on_the_emulator_clock(gw: Gateway) -> None:
    session = gw.signed_in(OWNER)
    url = f"{gw.pipeline_url}{V2}/experiments"
    gw.emulator.advance(24 * 3600 - 1)
    assert session.get(url, params={"namespace": "alice"}).status_code == 200
    gw.emulator.advance(1)
    response = session.get(url, params={"namespace": "alice"})
    assert (response.status_code, response.text) == (401, "{}")


def test_login_cookie_works_for_the_raw_api(gw: Gateway) -> None:
    session = gw.signed_in(OWNER)
    created = session.post(f"{gw.pipeline_url}{V2}/experiments",
                           json=experiment_body("raw", OWNER_NAMESPACE))
    assert created.status_code == 200, created.text
    assert created.json()["namespace"] == OWNER_NAMESPACE
