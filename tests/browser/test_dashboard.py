"""The admin dashboard in headless Chromium: what a person does with it, in order.

Each step saves a screenshot of the page it looks at (SCREENSHOTS/<page>.png), so the run leaves
one of every page: login-error, overview, jobs, job, teams, team, workers, providers, audit.
"""

import base64
import json
import os
import re
import time

from conftest import ADMIN_KEY, API_URL, SCREENSHOTS, admin, call
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def shoot(driver, name):
    """A screenshot of the whole page, not only the window (Chromium's DevTools protocol)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": max(size["width"], 1280), "height": min(max(size["height"], 600), 6000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    with open(os.path.join(SCREENSHOTS, f"{name}.png"), "wb") as file:
        file.write(base64.b64decode(shot["data"]))


def wait_for(condition, timeout=30.0, every=0.5, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(every)


def click_and_load(driver, element):
    """Clicks a button or link that loads a page, and waits for the new page."""
    driver.execute_script("window.__leaving = true")
    element.click()
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script("return window.__leaving !== true && document.readyState === 'complete'")
    )


def main_text(driver):
    return driver.find_element(By.TAG_NAME, "main").text


def sign_in(driver, key):
    driver.get(f"{API_URL}/admin/login")
    field = driver.find_element(By.NAME, "key")
    field.clear()
    field.send_keys(key)
    click_and_load(driver, driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]"))


def test_a_wrong_key_is_refused(browser):
    status, _, text = call("POST", f"{API_URL}/admin/login", form="key=sk-admin-wrong")
    assert status == 401
    assert "That is not the admin key" in text
    sign_in(browser, "sk-admin-wrong")
    assert "That is not the admin key" in main_text(browser)
    assert browser.get_cookie("saas_admin_session") is None
    shoot(browser, "login-error")


def test_sign_in_and_overview(browser, stack, slow_mock):
    sign_in(browser, ADMIN_KEY)
    wait_for(lambda: browser.current_url.rstrip("/").endswith("/admin"), message="the overview after sign-in")
    cookie = browser.get_cookie("saas_admin_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict" and cookie["path"] == "/admin"
    assert ADMIN_KEY not in browser.page_source
    # A slow job for the next steps: the mock holds its call for a minute.
    status, _, text = call(
        "POST",
        f"{API_URL}/api/jobs/create",
        {"team_id": stack.team, "job_type": "browser-test", "model": stack.group, "messages": [{"role": "user", "content": "slow please"}]},
        {"Authorization": f"Bearer {stack.team_key}"},
    )
    assert status == 202, text
    stack.job_id = json.loads(text)["job_id"]
    wait_for(lambda: admin("GET", f"/api/admin/jobs/{stack.job_id}")["status"] == "in_progress", message="the job to start")
    browser.get(f"{API_URL}/admin")
    text = main_text(browser)
    assert "Queue by team" in text and "Workers" in text and "Providers" in text
    assert stack.team in text, "the team with a running job is in the queue table"
    assert browser.find_element(By.CSS_SELECTOR, "figure.chart svg"), "the jobs/s chart"
    assert stack.provider in text
    shoot(browser, "overview")


def test_the_job_appears_and_is_cancelled(browser, stack):
    def listed():
        browser.get(f"{API_URL}/admin/jobs")
        return stack.job_id in main_text(browser)

    wait_for(listed, message="the job on the jobs page")
    shoot(browser, "jobs")
    # The filters narrow the list to the team's jobs.
    browser.find_element(By.ID, "team_id").send_keys(stack.team)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    assert stack.job_id in main_text(browser)
    click_and_load(browser, browser.find_element(By.LINK_TEXT, stack.job_id))
    assert "in progress" in main_text(browser)
    shoot(browser, "job")
    click_and_load(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Cancel job']"))
    assert "is cancel" in browser.find_element(By.CSS_SELECTOR, "p.flash").text
    wait_for(lambda: admin("GET", f"/api/admin/jobs/{stack.job_id}")["status"] == "cancelled", message="the job to be cancelled")
    browser.refresh()
    assert "cancelled" in main_text(browser)


def test_the_chart_counts_jobs_that_ended(browser, stack):
    call("POST", f"{os.environ['SAAS_MOCK_URL']}/_mock/reset")
    jobs = []
    for index in range(6):
        status, _, text = call(
            "POST",
            f"{API_URL}/api/jobs/create",
            {"team_id": stack.team, "job_type": "browser-chart", "model": stack.group, "messages": [{"role": "user", "content": f"quick {index}"}]},
            {"Authorization": f"Bearer {stack.team_key}"},
        )
        assert status == 202, text
        jobs.append(json.loads(text)["job_id"])
    wait_for(lambda: all(admin("GET", f"/api/admin/jobs/{job}")["status"] == "completed" for job in jobs), message="the quick jobs to complete")

    def ended():
        """The jobs the caption counts ("1 job ended", "6 jobs ended"), or None."""
        match = re.match(r"(\d+) jobs? ended", browser.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text)
        return int(match.group(1)) if match else None

    def charted():
        browser.get(f"{API_URL}/admin")
        bars = browser.find_elements(By.CSS_SELECTOR, "figure.chart rect.bar")
        return len(bars) == 60 and any(float(bar.get_attribute("height")) > 0 for bar in bars[-3:]) and (ended() or 0) >= len(jobs)

    # The chart counts complete 10-second buckets: these jobs reach its right end within 10 s,
    # and all six are counted once the bucket the last one ended in is complete (they may
    # straddle two buckets: "1 job ended" first).
    wait_for(charted, timeout=35, every=1, message="the six jobs in the jobs/s chart")
    assert ended() >= len(jobs)
    shoot(browser, "overview")


def test_teams_show_the_alias_escaped(browser, stack):
    browser.get(f"{API_URL}/admin/teams?limit=100")
    assert stack.team in main_text(browser)
    shoot(browser, "teams")
    click_and_load(browser, browser.find_element(By.LINK_TEXT, stack.team))
    text = main_text(browser)
    assert stack.alias in text, "the alias is shown as the text it is"
    assert not browser.find_elements(By.CSS_SELECTOR, "main b"), "the alias made no element"
    assert "Remaining" in text and "Limits" in text and "Usage this month" in text
    shoot(browser, "team")


def test_a_form_without_its_csrf_token_is_refused(browser, stack):
    session = browser.get_cookie("saas_admin_session")["value"]
    status, _, text = call(
        "POST", f"{API_URL}/admin/teams/{stack.team}/suspend", form="", headers={"Cookie": f"saas_admin_session={session}"}
    )
    assert status == 403 and "security token" in text
    # The same in the browser: the page's form, its token taken out.
    browser.get(f"{API_URL}/admin/teams/{stack.team}")
    browser.execute_script(
        "const form = document.querySelector(\"form[action$='/suspend']\");"
        "form.querySelector(\"input[name='csrf']\").remove(); form.submit();"
    )
    wait_for(lambda: "security token" in browser.page_source, message="the 403 page")
    shoot(browser, "csrf-refused")
    assert admin("GET", f"/api/teams/{stack.team}")["status"] == "active", "nothing changed"


def test_providers_and_audit(browser, stack):
    browser.get(f"{API_URL}/admin/providers")
    assert stack.provider in main_text(browser)
    shoot(browser, "providers")
    browser.get(f"{API_URL}/admin/audit")
    text = main_text(browser)
    assert "POST /admin/jobs/{job_id}/cancel" in text
    assert "POST /admin/login" in text
    shoot(browser, "audit")


def test_drain_the_worker(browser, stack):
    browser.get(f"{API_URL}/admin/workers")
    rows = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert rows and "running" in rows[0].text
    worker = rows[0].find_element(By.CSS_SELECTOR, "td.mono").text
    # A worker's slots, changed without a restart: its next heartbeat reports them.
    slots = rows[0].find_element(By.NAME, "concurrency")
    slots.clear()
    slots.send_keys("2")
    click_and_load(browser, rows[0].find_element(By.XPATH, ".//button[normalize-space()='Set']"))
    assert "up to 2 jobs at once" in browser.find_element(By.CSS_SELECTOR, "p.flash").text
    wait_for(
        lambda: any(w["worker_id"] == worker and w["concurrency"] == 2 for w in admin("GET", "/api/admin/workers")["workers"]),
        message="the worker to report 2 slots",
    )
    # Pausing claims fleet-wide, then resuming.
    click_and_load(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Pause claiming fleet-wide']"))
    assert "Claiming is paused" in main_text(browser)
    click_and_load(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Resume claiming']"))
    assert "Claiming runs" in main_text(browser)
    browser.get(f"{API_URL}/admin/workers")
    wait_for(lambda: browser.find_element(By.NAME, "concurrency").get_attribute("value") == "2" or browser.refresh(), message="2 slots shown")
    shoot(browser, "workers")
    rows = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    click_and_load(browser, rows[0].find_element(By.XPATH, ".//button[normalize-space()='Drain']"))
    assert "is draining" in browser.find_element(By.CSS_SELECTOR, "p.flash").text

    def drained():
        browser.get(f"{API_URL}/admin/workers")
        text = main_text(browser)
        return worker not in text or "draining" in text

    wait_for(drained, message="the worker draining or gone")
    shoot(browser, "workers-drained")
    wait_for(lambda: all(w["worker_id"] != worker for w in admin("GET", "/api/admin/workers")["workers"]), timeout=30, message="the worker to leave")
