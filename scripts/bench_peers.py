#!/usr/bin/env python3
"""The side-by-side benchmark of issue 16: okta-connector's reconcile and Airbyte's source-okta
`read` of the users stream, against the same simulated org behind the same TLS front.

Run through scripts/bench-peers.sh, which builds the release binaries, installs
airbyte-source-okta into a virtual environment, maps the org's host name to 127.0.0.1 and trusts
the simulator's certificate. This driver starts `okta-sim` (its own process) for each org size,
runs each client as a child process and takes the child's CPU (user + sys) and peak RSS from
wait4(2). CPU per user is marginal: (CPU at the large org - CPU at the small org) / (users listed
at the large org - users listed at the small org), so that start-up costs cancel out.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

STATUSES = ["STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED",
            "DEPROVISIONED"]


class Measured:
    def __init__(self, label, users, seconds, cpu, peak_mib):
        self.label, self.users, self.seconds, self.cpu, self.peak_mib = label, users, seconds, cpu, peak_mib


def run_child(command, env=None, stdout_path=None, count_lines=False):
    """Runs a command to its end; returns (wall seconds, CPU seconds, peak RSS MiB, lines counted)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env)
    lines = 0
    counted = b""
    if count_lines:
        # Reading the pipe costs this process, not the child.
        for line in process.stdout:
            if b'"type": "RECORD"' in line or b'"type":"RECORD"' in line:
                lines += 1
            elif b'"type": "LOG"' in line and b'"level": "ERROR"' in line:
                counted += line[:400]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    stderr = process.stderr.read().decode(errors="replace")
    if stdout_path:
        out.close()
    if process.returncode != 0:
        sys.exit(f"{command[0]} exited {process.returncode}:\n{stderr[-3000:]}\n{counted.decode(errors='replace')}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024.0, lines


class Simulator:
    def __init__(self, binaries, users, host, port, work):
        self.certificate = os.path.join(work, "sim-cert.pem")
        command = [os.path.join(binaries, "okta-sim"), "--users", str(users), "--host", "127.0.0.1",
                   "--port", str(port), "--tls", "--tls-name", host, "--certificate-out", self.certificate,
                   "--public-url", f"https://{host}" + ("" if port == 443 else f":{port}"), "--no-rate-limits"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.process.stdout.readline().decode()
        if "ready in" not in line:
            self.process.kill()
            sys.exit(f"okta-sim did not start: {line}{self.process.stderr.read().decode()[-2000:]}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def trust(certificate):
    """Adds the simulator's certificate to the system trust store (what okta-connector's TLS reads)."""
    shutil.copy(certificate, "/usr/local/share/ca-certificates/okta-connector-bench-sim.crt")
    subprocess.run(["update-ca-certificates"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def untrust():
    path = "/usr/local/share/ca-certificates/okta-connector-bench-sim.crt"
    if os.path.exists(path):
        os.remove(path)
        subprocess.run(["update-ca-certificates", "--fresh"], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def connector_config(work, host, port, enrich, name):
    directory = os.path.join(work, name)
    os.makedirs(directory, exist_ok=True)
    url = f"https://{host}" + ("" if port == 443 else f":{port}")
    path = os.path.join(directory, "okta-connector.yaml")
    with open(path, "w") as file:
        # `reconcile` serves no event hooks: the listener's TLS settings do not matter here.
        file.write(f"""server:
  insecure_plain_http: true
store:
  url: sqlite://{directory}/state.db
logging:
  level: warning
connectors:
  - name: Bench
    okta:
      url: {url}
      api_token: sim-api-token
    user_statuses: [{", ".join(STATUSES)}]
    schedule: {{ repeats: daily, start_time: "02:00" }}
    event_hook: {{ secrets: [a-secret-of-at-least-32-bytes-for-the-benchmark-hook] }}
    enrich: {{ apps: {str(enrich).lower()}, devices: {str(enrich).lower()}, plan: bulk }}
    sink: {{ type: ndjson, path: {directory}/users.ndjson }}
""")
    return path


def reconcile(binaries, config, label):
    command = [os.path.join(binaries, "okta-connector"), "reconcile", "--config", config, "--connector", "Bench"]
    seconds, cpu, peak, _ = run_child(command, stdout_path=os.devnull)
    # The users listed, from the run's own record (`runs` prints the newest first).
    runs = subprocess.run(
        [os.path.join(binaries, "okta-connector"), "runs", "--config", config, "--connector", "Bench", "--limit", "1"],
        capture_output=True, text=True, check=True)
    columns = runs.stdout.splitlines()[1].split()
    outcome, listed = columns[4], int(columns[5])
    created, updated, unchanged = int(columns[6]), int(columns[7]), int(columns[8])
    if outcome != "succeeded":
        sys.exit(f"{label}: the run {outcome}:\n{runs.stdout}")
    print(f"  {label}: listed {listed}, created {created}, updated {updated}, unchanged {unchanged}; "
          f"{seconds:.2f} s, CPU {cpu:.2f} s, peak RSS {peak:.1f} MiB", flush=True)
    return Measured(label, listed, seconds, cpu, peak)


def airbyte(venv, work, domain, certificate, label):
    config = os.path.join(work, "airbyte-config.json")
    with open(config, "w") as file:
        json.dump({"domain": domain, "start_date": "2000-01-01T00:00:00Z",
                   "credentials": {"auth_type": "api_token", "api_token": "sim-api-token"}}, file)
    env = dict(os.environ, REQUESTS_CA_BUNDLE=certificate)
    source = os.path.join(venv, "bin", "source-okta")
    catalog = os.path.join(work, "airbyte-catalog.json")
    if not os.path.exists(catalog):
        discovered = subprocess.run([source, "discover", "--config", config], capture_output=True, text=True, env=env)
        streams = [json.loads(line)["catalog"]["streams"] for line in discovered.stdout.splitlines()
                   if line.startswith("{") and '"CATALOG"' in line]
        if not streams:
            sys.exit(f"source-okta discover failed:\n{discovered.stdout[-2000:]}{discovered.stderr[-2000:]}")
        users = next(stream for stream in streams[0] if stream["name"] == "users")
        with open(catalog, "w") as file:
            json.dump({"streams": [{"stream": users, "sync_mode": "full_refresh",
                                    "destination_sync_mode": "overwrite"}]}, file)
    seconds, cpu, peak, records = run_child([source, "read", "--config", config, "--catalog", catalog], env=env,
                                            count_lines=True)
    return Measured(label, records, seconds, cpu, peak)


def stop_on_signal(number, _frame):
    """SIGTERM or SIGHUP end the run like Ctrl-C: the `finally` blocks stop the simulator, take its
    certificate out of the trust store and remove the scratch folder."""
    raise SystemExit(128 + number)


def main():
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binaries", required=True, help="the release build's bin folder")
    parser.add_argument("--venv", required=True, help="the virtual environment with airbyte-source-okta")
    parser.add_argument("--domain", default="okta-connector-bench", help="the org's subdomain of okta.com")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--json", help="also write the figures here")
    arguments = parser.parse_args()
    host = f"{arguments.domain}.okta.com"
    results = {}
    work = tempfile.mkdtemp(prefix="okta-bench-peers-")
    try:
        for size in (arguments.small, arguments.large):
            simulator = Simulator(arguments.binaries, size, host, arguments.port, work)
            try:
                trust(simulator.certificate)
                run = os.path.join(work, str(size))
                os.makedirs(run)
                print(f"org of {size} users: Airbyte read ...", flush=True)
                results[("airbyte", size)] = airbyte(arguments.venv, work, arguments.domain, simulator.certificate,
                                                     "Airbyte source-okta 0.3.26, read users")
                plain = connector_config(run, host, arguments.port, False, "plain")
                print(f"org of {size} users: okta-connector reconcile, first then unchanged ...", flush=True)
                results[("first", size)] = reconcile(arguments.binaries, plain, "okta-connector reconcile, first run")
                results[("second", size)] = reconcile(arguments.binaries, plain,
                                                      "okta-connector reconcile, unchanged second run")
                enriched = connector_config(run, host, arguments.port, True, "enriched")
                print(f"org of {size} users: okta-connector reconcile with enrichment ...", flush=True)
                results[("enriched", size)] = reconcile(arguments.binaries, enriched,
                                                        "okta-connector reconcile, first run, bulk enrichment")
                results[("enriched-second", size)] = reconcile(
                    arguments.binaries, enriched, "okta-connector reconcile, unchanged, bulk enrichment")
            finally:
                simulator.stop()
                untrust()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    small, large = arguments.small, arguments.large
    marginal = {}
    for key in ("airbyte", "first", "second", "enriched", "enriched-second"):
        a, b = results[(key, small)], results[(key, large)]
        if a.users is None or b.users is None or b.users == a.users:
            marginal[key] = None
        else:
            marginal[key] = (b.cpu - a.cpu) / (b.users - a.users) * 1e6
    print(f"\nSame simulated org (okta-sim, own process, rate limits off) over HTTPS at https://{host}; "
          f"CPU = user + sys of the client process; marginal CPU per user between {small} and {large} users.")
    header = (f"{'client':58} {'µs/user':>8} {'Airbyte÷':>9}   "
              f"{'users':>6} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>8}   {'users':>6} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>8}")
    print(f"{'':58} {'':>8} {'':>9}   {'--- small org ---':^31}   {'--- large org ---':^31}")
    print(header)
    reference = marginal["airbyte"]
    for key in ("airbyte", "first", "second", "enriched", "enriched-second"):
        a, b = results[(key, small)], results[(key, large)]
        per_user = marginal[key]
        ratio = "" if per_user is None or reference is None or per_user <= 0 else f"{reference / per_user:.2f}"
        print(f"{b.label:58} {per_user if per_user is not None else float('nan'):8.1f} {ratio:>9}   "
              f"{a.users or 0:6d} {a.seconds:7.2f} {a.cpu:7.2f} {a.peak_mib:8.1f}   "
              f"{b.users or 0:6d} {b.seconds:7.2f} {b.cpu:7.2f} {b.peak_mib:8.1f}")
    print("\nTargets (issue 16): unchanged second run ≥ 10× less CPU per user than Airbyte's read; first run ≥ 3× less.")
    if reference:
        for key, target in (("second", 10), ("first", 3)):
            per_user = marginal[key]
            if per_user:
                ratio = reference / per_user
                print(f"  {key:6} run: Airbyte's CPU per user ÷ ours = {ratio:5.2f}  "
                      f"({'met' if ratio >= target else 'NOT met'}, target ≥ {target})")
    if arguments.json:
        with open(arguments.json, "w") as file:
            json.dump({f"{key}:{size}": vars(value) for (key, size), value in results.items()} | {
                "marginal_us_per_user": marginal}, file, indent=2)


if __name__ == "__main__":
    main()
