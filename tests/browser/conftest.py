"""Fixtures of the dashboard's browser test (run by scripts/test-browser.sh).

The script exports ``SAAS_API_URL``, ``SAAS_ADMIN_KEY``, ``SAAS_MOCK_URL``, ``CHROMIUM``,
``CHROMEDRIVER`` and ``SCREENSHOTS``. The admin API is called with the standard library (the
setup needs nothing more); the pages are driven by Selenium in headless Chromium.
"""

import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

API_URL = os.environ.get("SAAS_API_URL", "")
ADMIN_KEY = os.environ.get("SAAS_ADMIN_KEY", "")
MOCK_URL = os.environ.get("SAAS_MOCK_URL", "")
SCREENSHOTS = os.environ.get("SCREENSHOTS", ".data/screenshots")


def call(method, url, body=None, headers=None, form=None):
    """One HTTP request; returns (status, headers, text). Never follows redirects."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = form.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def admin(method, path, body=None):
    status, _, text = call(method, API_URL + path, body, {"X-Admin-Key": ADMIN_KEY})
    assert status < 300, f"{method} {path}: {status} {text[:300]}"
    return json.loads(text) if text else None


@dataclass
class Stack:
    organization: str
    provider: str
    group: str
    team: str
    team_key: str
    alias: str


@pytest.fixture(scope="session")
def stack():
    if not API_URL:
        pytest.skip("run through scripts/test-browser.sh")
    run = secrets.token_hex(4)
    organization, provider, group, team = f"br-org-{run}", f"br-mock-{run}", f"br-group-{run}", f"br-team-{run}"
    alias = "<b>Bold</b> & <script>alert('dashboard')</script>"
    admin("POST", "/api/organizations/create", {"organization_id": organization, "name": "Browser test"})
    admin(
        "POST",
        "/api/providers/create",
        {"name": provider, "kind": "openai", "base_url": MOCK_URL, "api_key": "sk-mock-provider-key", "timeout_seconds": 300},
    )
    admin(
        "POST",
        "/api/model-groups/create",
        {
            "group_name": group,
            "models": [{"model_name": "mock-gpt", "provider": provider, "priority": 0, "input_price_per_million": 0.5, "output_price_per_million": 1.5}],
        },
    )
    created = admin(
        "POST",
        "/api/teams/create",
        {"organization_id": organization, "team_id": team, "team_alias": alias, "model_groups": [group], "credits_allocated": 10000},
    )
    return Stack(organization, provider, group, team, created["virtual_key"], alias)


@pytest.fixture(scope="session")
def browser():
    if not API_URL:
        pytest.skip("run through scripts/test-browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ["CHROMIUM"]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=os.environ["CHROMEDRIVER"]), options=options)
    driver.implicitly_wait(0)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def slow_mock():
    """Makes every upstream call take a minute, so a job stays running until it is cancelled."""
    call("PUT", f"{MOCK_URL}/_mock/behaviour", {"latency_ms": 60000})
    yield
    call("POST", f"{MOCK_URL}/_mock/reset")
