"""The operator console in a real browser (issue 14, SPEC §11).

Starts a real `okta-sim` (with churn, so events arrive) and a real `okta-connector serve` (HTTPS event
hook listener, HTTPS admin listener, an HTTP sink standing in for Neurons), then drives Debian's
Chromium through Playwright: sign-in, overview, connector page, hook registration, "run now" and
its result, replaying a dead letter, CSRF attempts refused, sign-out. Every page is checked with
axe-core (labels, contrast, headings...) and photographed.

Run by scripts/browser-tests.sh; prints "N passed, N failed" last. Every process it starts is
stopped in `finally`, also when a step fails or the time limit passes.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "browser-test-admin-token-of-at-least-32-bytes"
CONNECTOR = "Okta browser"
SLUG = "okta-browser"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.25):
    """Polls `condition` until it returns a true value; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - reported below if it never succeeds
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class NeuronsStandIn:
    """A stand-in for the Neurons ingestion endpoint: OAuth client-credentials token, batches of
    records. The first two users it sees are rejected (422) once each when sent alone, as a sink
    rejects a bad record: the forwarder's bisection moves exactly them to the dead letters, and a
    replay is accepted. Also serves /attack: another site's page with a form aimed at the console."""

    def __init__(self, console_url: str):
        self.console_url = console_url
        self.lock = threading.Lock()
        self.poisoned: list[str] = []
        self.rejected_alone: set[str] = set()
        self.accepted: list[str] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status: int, body: str, content_type: str = "application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/attack":
                    self.reply(
                        200,
                        "<!doctype html><html lang=en><title>Win a prize</title><h1>Win a prize</h1>"
                        f"<form method=post action='{stand_in.console_url}/connectors/{SLUG}/resync-all'>"
                        "<button>Claim</button></form>",
                        "text/html",
                    )
                else:
                    self.reply(404, "{}")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/oauth/token":
                    self.reply(200, json.dumps({"access_token": "stand-in-token", "expires_in": 3600}))
                    return
                if self.path != "/ingest" or self.headers.get("Authorization") != "Bearer stand-in-token":
                    self.reply(401, "{}")
                    return
                keys = [record["key"] for record in json.loads(body)["records"]]
                with stand_in.lock:
                    if not stand_in.poisoned:
                        stand_in.poisoned = keys[:2]
                    bad = [key for key in keys if key in stand_in.poisoned and key not in stand_in.rejected_alone]
                    if bad:
                        if len(keys) == 1:
                            stand_in.rejected_alone.add(keys[0])
                        self.reply(422, json.dumps({"error": f"attribute Email of {bad[0]} is invalid"}))
                        return
                    stand_in.accepted.extend(keys)
                self.reply(200, "{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Processes:
    """Started processes, each in its own process group, stopped on exit whatever happens."""

    def __init__(self, groups_file: Path | None):
        self.running: list[tuple[str, subprocess.Popen]] = []
        self.groups_file = groups_file

    def start(self, name: str, arguments: list[str], log: Path, cwd: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            arguments, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append((name, process))
        if self.groups_file:
            with self.groups_file.open("a") as groups:
                groups.write(f"{process.pid}\n")
        return process

    def stop_all(self):
        for name, process in reversed(self.running):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in reversed(self.running):
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within 25 s: killed", file=sys.stderr)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def admin_get(url: str, path: str) -> tuple[int, str]:
    """A bearer-token request to the admin listener (its certificate is self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class ConsoleBrowserTest:
    def __init__(self, bin_dir: Path, chromium: str, screenshots: Path, work: Path, groups_file: Path | None):
        self.bin_dir = bin_dir
        self.chromium = chromium
        self.screenshots = screenshots
        self.work = work
        self.processes = Processes(groups_file)
        self.results: list[tuple[str, str | None]] = []
        self.axe = Axe()

    # MARK: set-up

    def certificate(self) -> tuple[Path, Path]:
        certificate, key = self.work / "tls.crt", self.work / "tls.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )
        return certificate, key

    def start_services(self):
        certificate, key = self.certificate()
        self.sim_port, self.listen_port, self.admin_port = free_port(), free_port(), free_port()
        self.admin_url = f"https://127.0.0.1:{self.admin_port}"
        self.sink = NeuronsStandIn(self.admin_url)
        self.sink.start()
        self.processes.start(
            "okta-sim",
            [str(self.bin_dir / "okta-sim"), "--users", "80", "--port", str(self.sim_port), "--hook-ca", str(certificate),
             "--churn", "1", "--rate-limit-window", "15"],
            self.work / "okta-sim.log", self.work,
        )
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.sim_port), timeout=1).close() or True, 60, "okta-sim to listen")
        (self.work / "admin-token").write_text(ADMIN_TOKEN)
        (self.work / "config.yaml").write_text(f"""
server:
  listen: 127.0.0.1:{self.listen_port}
  tls: {{ certificate: {certificate}, private_key: {key} }}
  admin:
    listen: 127.0.0.1:{self.admin_port}
    token_file: admin-token
    tls: {{ certificate: {certificate}, private_key: {key} }}
    session_lifetime: 1h
store: {{ url: sqlite://state.db }}
logging: {{ format: logfmt, level: info }}
connectors:
  - name: {CONNECTOR}
    okta: {{ url: "http://127.0.0.1:{self.sim_port}", allow_insecure_http: true, api_token: sim-api-token }}
    schedule: {{ repeats: daily, start_time: "02:00" }}
    event_hook: {{ secrets: [browser-hook-secret-of-at-least-32-bytes-0123], public_url: "https://localhost:{self.listen_port}/hooks/okta/{SLUG}" }}
    sink:
      type: http
      endpoint: http://127.0.0.1:{self.sink.port}/ingest
      token_url: http://127.0.0.1:{self.sink.port}/oauth/token
      client_id: okta-connector
      client_secret: stand-in-secret
      allow_insecure_http: true
      batch_size: 50
""")
        self.processes.start(
            "okta-connector serve",
            [str(self.bin_dir / "okta-connector"), "serve", "--config", "config.yaml"],
            self.work / "serve.log", self.work,
        )
        wait_until(lambda: admin_get(self.admin_url, "/readyz")[0] == 200, 60, "serve to be ready")

        def startup_run_done():
            status, body = admin_get(self.admin_url, f"/api/connectors/{SLUG}/runs")
            return status == 200 and any(run["outcome"] == "succeeded" for run in json.loads(body))

        wait_until(startup_run_done, 90, "the startup reconcile")

    def delete_users_in_okta(self, count: int) -> list[str]:
        """Deactivates and deletes `count` active users through the simulator's control API."""
        sim = f"http://127.0.0.1:{self.sim_port}"
        request = urllib.request.Request(
            f"{sim}/api/v1/users?limit=200&filter=" + urllib.parse.quote('status eq "ACTIVE"'),
            headers={"Authorization": "SSWS sim-api-token", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            users = [user["id"] for user in json.loads(response.read())][:count]
        assert len(users) == count, f"only {len(users)} active users"
        for user in users:
            for action in ("deactivate", "delete"):
                urllib.request.urlopen(
                    urllib.request.Request(f"{sim}/sim/v1/users/{user}/lifecycle/{action}", method="POST", data=b""),
                    timeout=10,
                ).close()
        return users

    # MARK: steps

    def step(self, name: str, action):
        started = time.monotonic()
        try:
            action()
            self.results.append((name, None))
            print(f"PASS {name} ({time.monotonic() - started:.1f} s)", flush=True)
        except Exception:  # noqa: BLE001 - every step is reported, the run goes on where it can
            self.results.append((name, traceback.format_exc()))
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            if hasattr(self, "page"):
                self.page.screenshot(path=str(self.work / f"failure-{len(self.results)}.png"), full_page=True)

    def check_accessibility(self, page: Page, what: str):
        """axe-core's serious and critical findings fail the step; one h1 per page."""
        results = self.axe.run(page)
        for finding in results.response["violations"]:
            if finding.get("impact") not in ("serious", "critical"):
                print(f"  note ({what}): axe {finding['id']} ({finding.get('impact')}): {finding['help']}")
        serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not serious, f"{what}: accessibility violations: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in serious
        )
        assert page.locator("h1").count() == 1, f"{what}: one h1 heading"

    def shoot(self, page: Page, name: str):
        page.screenshot(path=str(self.screenshots / name), full_page=True)

    def run(self) -> int:
        try:
            self.start_services()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=self.chromium, args=["--no-sandbox", "--disable-gpu"], timeout=60_000
                )
                try:
                    # The admin listener's certificate is self-signed; axe's script is injected
                    # despite the console's Content-Security-Policy.
                    context = browser.new_context(
                        ignore_https_errors=True, bypass_csp=True, viewport={"width": 1280, "height": 900}
                    )
                    context.set_default_timeout(20_000)
                    self.page = context.new_page()
                    self.context = context
                    self.run_steps()
                finally:
                    browser.close()
        except Exception:  # noqa: BLE001
            self.results.append(("set-up", traceback.format_exc()))
            print(f"FAIL set-up\n{traceback.format_exc()}", flush=True)
        finally:
            self.processes.stop_all()
            if hasattr(self, "sink"):
                self.sink.stop()
        failed = [name for name, error in self.results if error]
        if failed:
            for log in ("serve.log", "okta-sim.log"):
                path = self.work / log
                if path.exists():
                    print(f"--- last lines of {log} ---\n" + "\n".join(path.read_text().splitlines()[-40:]))
        print(f"{len(self.results) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0

    def run_steps(self):
        page = self.page
        connector_url = f"{self.admin_url}/connectors/{SLUG}"

        def sign_in():
            response = page.goto(self.admin_url + "/")
            assert response.status == 401, f"the console asks for sign-in first, got {response.status}"
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            self.check_accessibility(page, "sign-in page")
            self.shoot(page, "console-sign-in.png")
            page.get_by_label("Admin token").fill("not the token")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_contain_text("That is not the admin token")
            page.get_by_label("Admin token").fill(ADMIN_TOKEN)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            cookies = [c for c in self.context.cookies() if "okta-connector-session" in c["name"]]
            assert len(cookies) == 1, cookies
            cookie = cookies[0]
            assert cookie["name"].startswith("__Host-"), cookie
            assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict", cookie
            assert 0 < cookie["expires"] - time.time() <= 3600 + 5, "bounded by session_lifetime (1h)"

        def overview():
            page.goto(self.admin_url + "/")
            section = page.locator(f"section[data-connector='{SLUG}']")
            expect(section).to_be_visible()
            expect(section.locator("dd.health")).to_have_text("running")
            for term in ["Health", "Events", "Inbox", "Outbox", "Failed events", "Dead letters", "Last run", "Next run"]:
                expect(section.locator("dt", has_text=term).first).to_be_visible()
            assert page.goto(self.admin_url + "/").headers.get("refresh") == "15", "the overview refreshes itself"
            self.check_accessibility(page, "overview")
            self.shoot(page, "console-overview.png")

        def held_run_confirmed():
            # A third of the org deleted in Okta (no hook registered yet, so no event removes them):
            # the next run is held by the circuit breaker, its page lists them, confirming removes them.
            gone = self.delete_users_in_okta(25)
            page.goto(connector_url)
            page.get_by_role("button", name="Run reconcile now").click()
            expect(page.get_by_role("status").first).to_contain_text("Reconcile started.")

            def newest_run(outcome: str):
                page.goto(connector_url)
                first = page.locator("table.runs tbody tr").first
                return outcome in first.inner_text() and "manual" in first.inner_text()

            wait_until(lambda: newest_run("held"), 90, "the run to be held", interval=1)
            expect(page.get_by_role("alert").or_(page.locator("p.error")).first).to_contain_text("held by the circuit breaker")
            page.locator("table.runs tbody tr").first.get_by_role("link").click()
            expect(page.get_by_role("heading", name="What it would remove")).to_be_visible()
            rows = page.locator("table.removals tbody tr")
            expect(rows).to_have_count(len(gone))
            listed = set(rows.locator("td:first-child").all_inner_texts())
            assert listed == set(gone), f"the held run lists exactly the deleted users: {listed ^ set(gone)}"
            self.check_accessibility(page, "held run page")
            self.shoot(page, "console-held-run.png")
            page.get_by_role("button", name="Run again and apply the removals").click()
            expect(page.get_by_role("status").first).to_contain_text("removals confirmed started")

            def removed():
                page.goto(connector_url)
                first = page.locator("table.runs tbody tr").first
                cells = first.locator("td").all_inner_texts()
                return "succeeded" in cells[4] and cells[9].strip() == str(len(gone))

            wait_until(removed, 90, f"a run removing the {len(gone)} users", interval=1)

        def register_hook():
            page.goto(connector_url)
            page.get_by_role("link", name="Resync one user, re-register the hook…").click()
            self.check_accessibility(page, "actions page")
            self.shoot(page, "console-actions.png")
            page.get_by_role("button", name="Register and verify").click()
            expect(page.get_by_role("status").first).to_contain_text("verified")
            hook = page.locator("table.hook-state")
            expect(hook).to_contain_text("ACTIVE")
            expect(hook).to_contain_text("VERIFIED")

        def run_now():
            page.goto(connector_url)
            before = page.locator("table.runs tbody tr").count()
            page.get_by_role("button", name="Run reconcile now").click()
            expect(page.get_by_role("status").first).to_contain_text("Reconcile started.")

            def manual_run_succeeded():
                page.goto(connector_url)
                first = page.locator("table.runs tbody tr").first
                return page.locator("table.runs tbody tr").count() > before and "manual" in first.inner_text() and "succeeded" in first.inner_text()

            wait_until(manual_run_succeeded, 90, "the manual run to appear as succeeded", interval=1)
            expect(page.locator("svg#drift")).to_be_visible()
            expect(page.locator("svg#events")).to_be_visible()
            expect(page.locator("table.rate-limits")).to_contain_text("users")
            self.check_accessibility(page, "connector page")
            self.shoot(page, "console-connector.png")
            page.locator("table.runs tbody tr").first.get_by_role("link").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("succeeded")
            self.check_accessibility(page, "run page")

        def replay_dead_letter():
            dead_letters = f"{connector_url}/dead-letters"

            def two_dead_letters():
                page.goto(dead_letters)
                return page.locator("table.dead-letters tbody tr").count() == 2

            wait_until(two_dead_letters, 60, "the sink's two rejections to become dead letters", interval=1)
            expect(page.locator("table.dead-letters")).to_contain_text("422")
            self.check_accessibility(page, "dead letters page")
            self.shoot(page, "console-dead-letters.png")
            row = page.locator("table.dead-letters tbody tr").first
            user = row.locator("td").nth(3).inner_text()
            row.get_by_role("button", name="Replay").click()
            expect(page.get_by_role("status").first).to_contain_text("1 dead letter re-queued for the sink.")
            expect(page.locator("table.dead-letters tbody tr")).to_have_count(1)
            wait_until(lambda: user in self.sink.accepted, 30, f"the replayed record of {user} to reach the sink")

        def csrf_refused():
            # The console's own form with a forged token: refused, nothing queued.
            page.goto(connector_url)
            page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
            accepted_before = len(self.sink.accepted)
            with page.expect_response(lambda r: r.url.endswith("/resync-all")) as answer:
                page.get_by_role("button", name="Re-send every user to the sink").click()
            assert answer.value.status == 403, answer.value.status
            expect(page.get_by_role("alert")).to_contain_text("CSRF")
            # Another site's page posting to the console: refused (no cookie sent, or refused by origin).
            page.goto(f"http://127.0.0.1:{self.sink.port}/attack")
            with page.expect_response(lambda r: r.url.endswith("/resync-all")) as answer:
                page.get_by_role("button", name="Claim").click()
            assert answer.value.status in (401, 403), answer.value.status
            status, body = admin_get(self.admin_url, "/api/status")
            outbox = json.loads(body)["connectors"][0]["outboxDepth"]
            assert outbox < 80, f"no re-send was queued (outbox {outbox})"
            assert len(self.sink.accepted) - accepted_before < 80, "no re-send reached the sink"

        def sign_out():
            page.goto(self.admin_url + "/")
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            assert not [c for c in self.context.cookies() if "okta-connector-session" in c["name"]]
            response = page.goto(self.admin_url + "/")
            assert response.status == 401
            expect(page.get_by_label("Admin token")).to_be_visible()

        self.step("sign-in with the admin token sets a secure session cookie", sign_in)
        self.step("the overview shows every connector's state", overview)
        self.step("a held run lists what it would remove and confirming removes it", held_run_confirmed)
        self.step("the event hook is registered and verified from the console", register_hook)
        self.step("run now: the run and its result appear on the connector page", run_now)
        self.step("a dead letter is replayed and reaches the sink", replay_dead_letter)
        self.step("CSRF attempts are refused", csrf_refused)
        self.step("sign-out ends the session", sign_out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the folder with okta-connector and okta-sim")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", required=True, help="where the pages' screenshots go")
    parser.add_argument("--process-groups", help="a file to which the started process groups are appended")
    arguments = parser.parse_args()
    screenshots = Path(arguments.screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="okta-console-browser-"))
    # SIGTERM (the script's time limit) unwinds through the `finally` blocks that stop the processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    try:
        return ConsoleBrowserTest(
            Path(arguments.bin), arguments.chromium, screenshots, work,
            Path(arguments.process_groups) if arguments.process_groups else None,
        ).run()
    finally:
        if os.environ.get("OKTA_KEEP_BROWSER_WORK") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")


if __name__ == "__main__":
    sys.exit(main())
