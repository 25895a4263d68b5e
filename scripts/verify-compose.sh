#!/usr/bin/env bash
# Starts the local scale-out stack (deploy/compose/compose.yaml, with its one change for podman:
# the replicas' healthcheck as one CMD-SHELL string) with Debian's podman-compose and proves it works
# (deploy/README.md, "Running it with podman"):
#
#  - first, whether podman-compose can put the services in one network namespace (network_mode
#    service:/container:/host, a pod through --podman-run-args) with a throwaway two-container
#    project: podman's errors (or the namespaces each container got) printed; the stack itself runs
#    on podman-compose's project network, one namespace per service (deploy/README.md says why);
#  - the images: okta-connector:local and okta-sim:local from scripts/verify-image.sh (built here
#    when missing), postgres:15-bookworm and haproxy:2.8-bookworm from scripts/make-base-images.sh;
#  - the start in dependency order, since podman-compose 1.0.x ignores `condition: service_healthy`:
#    postgres, then (pg_isready, the service's own healthcheck command) okta-sim and both replicas,
#    then (both /readyz 200) the load balancer, then register-hook (exit 0);
#  - deliveries: the simulator's churn delivers event hooks through the TLS front (HAProxy) to both
#    replicas (each replica's count from its metrics);
#  - failover: `podman kill` (SIGKILL) of the replica holding the worker lease while deliveries
#    flow; the takeover time (kill to the other replica holding the lease in the database);
#  - nothing lost: churn stopped, then by event id: every event the simulator logged of the hook's
#    types after the hook was registered is in the inbox (and every inbox id is in its System Log),
#    all applied, the outbox drained, no dead letters;
#  - `podman stop` of the surviving replica: its stop time against the 30 s grace period.
#
#   scripts/verify-compose.sh          # KEEP_STACK=1 leaves the stack running afterwards
# Needs root (podman as root here). The stack publishes 127.0.0.1:8080, 8443, 9091 and 9092.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
fail() {
    if [[ -s ${work:-}/podman-compose.log ]]; then tail -n 30 "$work/podman-compose.log" >&2; fi
    echo "FAIL: $*" >&2
    exit 1
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
[[ $(id -u) -eq 0 ]] || fail "verify-compose: needs root (podman runs as root here)"
# The output's first line: what was run, when, on which commit, and what was skipped.
tree=clean
git diff --quiet HEAD -- 2>/dev/null || tree="with uncommitted changes"
echo "# $0: started $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) ($tree); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); podman $(podman --version | awk '{print $3}'); podman-compose $(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null || echo "?"); skipped: nothing"

project=okta-connector
compose=(podman-compose -p "$project" -f compose.yaml)
pc() { (cd deploy/compose && "${compose[@]}" "$@") >>"$work/podman-compose.log" 2>&1; }
work=$(mktemp -d /tmp/okta-connector-compose.XXXXXX)
probe=okta-connector-netns-probe
probe_down() {
    if [[ -f ${work:-}/netns/probe.yaml ]]; then
        (cd "$work/netns" && podman-compose -p "$probe" -f probe.yaml down -t 0) >/dev/null 2>&1 || true
    fi
    podman pod rm -f "$probe-pod" >/dev/null 2>&1 || true
    podman network rm "${probe}_default" >/dev/null 2>&1 || true
}
cleanup() {
    probe_down
    if [[ ${KEEP_STACK:-0} != 1 ]]; then
        # `down -v` removes the project's named volumes, not the anonymous one the image's VOLUME
        # gives register-hook (it mounts no data volume): those are removed by name.
        local anonymous
        anonymous=$(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.ID}}' |
            xargs -r podman inspect --format '{{range .Mounts}}{{.Name}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9a-f]{64}$' || true)
        (cd deploy/compose && "${compose[@]}" down -t 30 -v) >>"$work/podman-compose.log" 2>&1 || true
        for volume in $anonymous; do podman volume rm -f "$volume" >/dev/null 2>&1 || true; done
        podman network rm "${project}_default" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

log "images"
scripts/make-base-images.sh postgres haproxy | grep -v '^$'
if ! podman image exists okta-connector:local || ! podman image exists okta-sim:local; then
    scripts/verify-image.sh
fi
for image in okta-connector:local okta-sim:local postgres:15-bookworm haproxy:2.8-bookworm; do
    echo "$image: $(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12)"
done
echo "podman-compose: $(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null || podman-compose --version | tail -n 1)"

deploy/compose/up.sh --secrets-only
admin_token=$(cat deploy/compose/.local/admin-token)
# Every secret file connector.yaml names is one the compose file gives the replicas.
python3 - deploy/compose/compose.yaml deploy/compose/connector.yaml <<'PY' || fail "connector.yaml names a secret compose.yaml does not mount"
import re, sys, yaml
compose, config = yaml.safe_load(open(sys.argv[1])), open(sys.argv[2]).read()
mounted = set()
for item in compose["x-connector"]["secrets"]:
    target = item if isinstance(item, str) else item.get("target") or item["source"]
    mounted.add(target if target.startswith("/") else "/run/secrets/" + target)
named = set(re.findall(r"/run/secrets/[A-Za-z0-9._/-]+", config))
missing = sorted(named - mounted)
print(f"connector.yaml names {len(named)} secret files, all mounted by compose.yaml" if not missing else f"not mounted: {missing}")
sys.exit(1 if missing else 0)
PY

# --- one network namespace? -------------------------------------------------------------------------
# What the stack would need for its containers to share one network namespace, tried with a
# throwaway project of two sleeping containers. podman-compose 1.0.3 adds `--net <project>_default
# --network-alias <service>` to every `podman run`, whatever the service says.
log "one network namespace for all services? (network_mode and a pod under podman-compose $(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null))"
mkdir -p "$work/netns"
netns() { readlink "/proc/$(podman inspect --format '{{.State.Pid}}' "$1")/ns/net"; }
for mode in service:first "container:${probe}_first_1" host pod; do
    {
        printf 'services:\n  first:\n    image: haproxy:2.8-bookworm\n    command: ["sleep", "120"]\n'
        printf '  second:\n    image: haproxy:2.8-bookworm\n    command: ["sleep", "120"]\n    depends_on: [first]\n'
        [[ $mode == pod ]] || printf '    network_mode: "%s"\n' "$mode"
    } >"$work/netns/probe.yaml"
    args=()
    if [[ $mode == pod ]]; then
        podman pod create --name "$probe-pod" >/dev/null
        args=(--podman-run-args="--pod=$probe-pod")
    fi
    (cd "$work/netns" && podman-compose -p "$probe" "${args[@]}" -f probe.yaml up -d) >"$work/netns/up.log" 2>&1 || true
    if [[ $mode == pod ]]; then
        echo "a pod (podman pod create; podman-compose --podman-run-args=--pod=$probe-pod): $(grep -o -- '--pod=[^ ]*' "$work/netns/up.log" | head -n 1) ... $(grep -m 1 -o -- '--net [^ ]* --network-alias [^ ]*' "$work/netns/up.log")"
        if podman container exists "${probe}_second_1"; then
            infra=$(podman pod inspect --format '{{.InfraContainerID}}' "$probe-pod")
            echo "  both joined the pod; network namespaces: first $(netns "${probe}_first_1"), second $(netns "${probe}_second_1"), the pod's $(netns "$infra")"
            if [[ $(netns "${probe}_first_1") == "$(netns "${probe}_second_1")" ]]; then
                echo "  shared: the stack could run in a pod"
            else
                echo "  not shared: the --net podman-compose adds gives each container its own namespace"
            fi
        else
            grep -m 1 '^Error' "$work/netns/up.log" | sed 's/^/  podman: /'
        fi
    else
        echo "network_mode: \"$mode\": podman run ... $(grep -m 1 -o -- "--network $mode --net [^ ]* --network-alias [^ ]*" "$work/netns/up.log")"
        if podman container exists "${probe}_second_1"; then
            echo "  started: second in $(netns "${probe}_second_1"), first in $(netns "${probe}_first_1")"
        else
            grep -m 1 '^Error' "$work/netns/up.log" | sed 's/^/  podman: /'
        fi
    fi
    probe_down
done
echo "so the stack runs on the project network (${project}_default), one network namespace per service"

log "a clean start (podman-compose down -v, then up in dependency order)"
pc down -t 30 -v || true
for port in 8080 8443 9091 9092; do
    if ss -Hltn "sport = :$port" | grep -q .; then fail "127.0.0.1:$port is taken (ss -ltn); the stack publishes it"; fi
done
t_up=$(now)
pc up -d --no-build postgres
container() { echo "${project}_$1_1"; }
# Without systemd podman does not schedule healthchecks (it logs "unable to get systemd connection
# to start healthchecks"); `podman healthcheck run` runs the compose file's one on demand.
healthy() { podman healthcheck run "$(container "$1")" >/dev/null 2>&1; }
for _ in $(seq 1 120); do
    healthy postgres && break
    sleep 0.5
done
healthy postgres || { podman logs "$(container postgres)" | tail -n 20; fail "postgres not healthy"; }
echo "postgres healthy (its healthcheck, pg_isready) after $(since "$t_up") s"
# The deps of these (postgres, okta-sim) are started again by podman-compose: "already in use", harmless.
pc up -d --no-build okta-sim || true
pc up -d --no-build connector-1 connector-2 || true
for port in 9091 9092; do
    for _ in $(seq 1 600); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz") == 200 ]] && break
        sleep 0.1
    done
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz") == 200 ]] || {
        podman ps -a --filter "label=io.podman.compose.project=$project"
        podman logs "$(container "connector-$((port - 9090))")" 2>&1 | tail -n 20
        fail "replica on $port: no /readyz 200"
    }
    started_at=$(podman inspect --format '{{.State.StartedAt.Format "2006-01-02T15:04:05.000000000Z07:00"}}' "$(container "connector-$((port - 9090))")")
    echo "connector-$((port - 9090)): /readyz 200 $(since "$(date -d "$started_at" +%s.%N)") s after its container started (PostgreSQL store)"
done
for replica in connector-1 connector-2; do
    healthy "$replica" || fail "$replica: its compose healthcheck (bash /dev/tcp to /readyz) fails"
    echo "$replica: compose healthcheck passes ($(podman ps --filter "name=^$(container "$replica")\$" --format '{{.Status}}'))"
done
pc up -d --no-build load-balancer || true
pc up -d --no-build register-hook || true
code=$(podman wait "$(container register-hook)")
podman logs "$(container register-hook)" 2>&1 | tail -n 3
[[ $code == 0 ]] || fail "register-hook exited $code"
# From here on, every event of the hook's types the simulator logs must reach the inbox.
t_hook=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
echo "stack up, hook registered through the load balancer: $(since "$t_up") s after the first podman-compose up"
podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}\t{{.Status}}\t{{.Image}}'

psql() { podman exec "$(container postgres)" psql -U okta_connector -d okta_connector -Atq -c "$1"; }
hook_stats() { curl -s --max-time 2 http://127.0.0.1:8080/sim/v1/hooks/stats; }
stat() { hook_stats | python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
received() { # deliveries a replica's listener acknowledged, from its metrics
    curl -s --max-time 2 -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$1/metrics" |
        awk '/^okta_connector_deliveries_total\{.*result="stored"/ { n += $NF } END { print n + 0 }'
}

log "deliveries through the TLS front (churn 2 changes a second)"
sleep 20
hook_stats; echo
echo "acknowledged by connector-1: $(received 9091), by connector-2: $(received 9092) (okta_connector_deliveries_total, result stored)"
[[ $(stat delivered) -gt 0 ]] || fail "no delivery acknowledged through the load balancer"

log "failover: podman kill of the replica holding the worker lease"
holder=$(psql "SELECT holder || ' epoch ' || epoch FROM worker_leases")
echo "worker lease: $holder"
victim=$(grep -o 'connector-[12]' <<<"$holder" | head -n 1)
[[ -n $victim ]] || fail "no replica holds the worker lease"
survivor=connector-$((3 - ${victim#connector-}))
before=$(stat eventsDelivered)
t_kill=$(now)
podman kill "$(container "$victim")" >/dev/null
takeover=
for _ in $(seq 1 400); do
    if psql "SELECT holder FROM worker_leases" | grep -q "$survivor"; then takeover=$(since "$t_kill"); break; fi
    sleep 0.1
done
[[ -n $takeover ]] || fail "$survivor did not take over the worker lease within 40 s"
echo "killed $victim; $survivor holds the worker lease $takeover s later ($(psql "SELECT 'epoch ' || epoch FROM worker_leases"))"
sleep 20
echo "$victim after the kill: $(podman ps -a --filter "name=^$(container "$victim")\$" --format '{{.Status}}') (restart: unless-stopped)"

log "nothing lost: churn stopped, the simulator's acknowledged events against the inbox"
curl -s -X DELETE http://127.0.0.1:8080/sim/v1/churn >/dev/null
sleep 8
for _ in $(seq 1 120); do
    pending=$(psql "SELECT count(*) FROM inbox_events WHERE applied_at IS NULL AND failed_at IS NULL")
    outbox=$(psql "SELECT count(*) FROM outbox")
    [[ $pending == 0 && $outbox == 0 ]] && break
    sleep 0.5
done
stats=$(hook_stats)
acknowledged=$(python3 -c "import json, sys; print(json.loads(sys.argv[1])['eventsDelivered'])" "$stats")
echo "simulator: $stats"
inbox=$(psql "SELECT count(*) FROM inbox_events")
applied=$(psql "SELECT count(*) FROM inbox_events WHERE applied_at IS NOT NULL")
failed=$(psql "SELECT count(*) FROM inbox_events WHERE failed_at IS NOT NULL")
dead=$(psql "SELECT count(*) FROM dead_letters")
echo "events acknowledged by the stack: $acknowledged ($((acknowledged - before)) after the kill); in the inbox: $inbox, applied: $applied, failed: $failed; outbox: $outbox; dead letters: $dead"
((inbox >= acknowledged)) || fail "$((acknowledged - inbox)) acknowledged events are not in the inbox"
((applied == inbox && failed == 0 && outbox == 0 && dead == 0)) || fail "not everything applied and forwarded"
# By id: the simulator's System Log (the Management API, the compose file's API token) against the
# inbox's uuids. The window starts when register-hook exited (the hook active and verified); events
# of types Okta never delivers to hooks (the simulator's HookDeliverer.notEligible) are left out.
psql "SELECT uuid FROM inbox_events" >"$work/inbox-ids"
python3 - "$(date -u -d "@${t_up%.*}" +%Y-%m-%dT%H:%M:%S.000Z)" "$t_hook" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$work/inbox-ids" "$stats" <<'PY' || fail "acknowledged events missing from the inbox by id"
import json, re, sys, urllib.parse, urllib.request
start, hook_time, end, inbox_file, stats = sys.argv[1:]
base = "http://127.0.0.1:8080"
def get(url):
    parts = urllib.parse.urlsplit(url)  # the simulator's links name its in-stack address
    request = urllib.request.Request(base + parts.path + "?" + parts.query,
                                     headers={"Authorization": "SSWS sim-api-token", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response), response.headers.get_all("Link") or []
hooks, _ = get(base + "/api/v1/eventHooks")
hooks = [h for h in hooks if h["status"] == "ACTIVE" and h.get("verificationStatus") == "VERIFIED"]
types = {t for h in hooks for t in h["events"]["items"]} - {"user.account.expire_password", "user.account.update_primary_email"}
events, url = [], base + "/api/v1/logs?" + urllib.parse.urlencode({"since": start, "until": end, "limit": 1000})
while url:
    page, links = get(url)
    events += page
    url = next((m.group(1) for link in links for m in re.finditer(r'<([^>]+)>; rel="next"', link)), None)
logged = {e["uuid"] for e in events}
expected = {e["uuid"] for e in events if e["eventType"] in types and e["published"] >= hook_time}
inbox = set(open(inbox_file).read().split())
missing, unknown = sorted(expected - inbox), sorted(inbox - logged)
print(f"by id: {len(events)} events in the simulator's System Log since the stack started; {len(expected)} of the hook's"
      f" {len(types)} types logged after it was registered ({hook_time}): {len(expected) - len(missing)} in the inbox,"
      f" {len(missing)} missing; the inbox's {len(inbox)} ids all in the System Log: {'yes' if not unknown else 'no, ' + str(len(unknown)) + ' unknown'}")
if missing:
    print(f"missing: {missing[:10]} (deliveries the simulator gave up on: {json.loads(stats)['failed']})")
sys.exit(1 if missing or unknown else 0)
PY
echo "0 acknowledged events lost (by id and by count)"

log "podman stop of $survivor (grace period 30 s, server.shutdown_timeout 20s)"
t_stop=$(now)
podman stop -t 30 "$(container "$survivor")" >/dev/null 2>"$work/stop.err" || { cat "$work/stop.err"; fail "podman stop"; }
stopped=$(since "$t_stop")
# (without systemd podman logs that it cannot remove the healthcheck's timer: harmless, left out)
grep -v 'unable to get systemd connection' "$work/stop.err" || true
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$(container "$survivor")")
echo "stopped in $stopped s, exit code $exit_code"
[[ $exit_code == 0 ]] || fail "$survivor exited $exit_code on SIGTERM"

log "PASS in $(($(date +%s) - started)) s: stack up and hook registered, $acknowledged events through the TLS front, takeover $takeover s after podman kill of $victim, 0 lost, stop in $stopped s"
