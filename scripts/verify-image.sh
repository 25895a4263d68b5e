#!/usr/bin/env bash
# Builds the container image from the unchanged deploy/Dockerfile with podman and runs it the way
# the Kubernetes manifests run it (deploy/kubernetes/base/deployment.yaml): read-only root
# filesystem, UID/GID 10001, every capability dropped, no new privileges, /tmp and the data folder
# writable, the configuration and the secrets mounted read-only (deploy/README.md, "Running it with
# podman"):
#
#  1. the base images (scripts/make-base-images.sh: cached, seconds when they exist);
#  2. `podman build -f deploy/Dockerfile` for the connector (okta-connector:<VERSION> and
#     okta-connector:local, the compose file's name) and, unless SKIP_SIM=1, `--target okta-sim`
#     (okta-sim:local); build time, image size and layer count printed;
#  3. `version` (this checkout's version and commit), `demo --seconds 5`, `check-config` on the
#     Kubernetes configuration with its mounted secrets;
#  4. `serve` with deploy/kubernetes/base/config.yaml as the ConfigMap mounts it: start to /readyz,
#     a signed event hook delivery answered 200 (a wrong secret 401), then `podman stop`: the
#     stop's duration against the 30 s grace period, and the exit code;
#  5. bad input: a missing secret file, an unreadable configuration, a data volume owned by another
#     UID: each container ends with the binary's message and a non-zero exit `podman ps -a` shows.
#
#   scripts/verify-image.sh            # SKIP_BUILD=1: use the images already built
# Needs root (podman as root here, SPEC §23). A release build takes 15-25 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "verify-image: needs root (podman runs as root here)"
# The output's first line: what was run, when, on which commit, and what was skipped.
skipped=nothing
if [[ ${SKIP_BUILD:-0} == 1 ]]; then skipped="the builds (SKIP_BUILD=1)"; elif [[ ${SKIP_SIM:-0} == 1 ]]; then skipped="the simulator build (SKIP_SIM=1)"; fi
tree=clean
git diff --quiet HEAD -- 2>/dev/null || tree="with uncommitted changes"
echo "# $0: started $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) ($tree); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); podman $(podman --version | awk '{print $3}'); skipped: $skipped"

version=$(tr -d '[:space:]' <VERSION)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
image=okta-connector:$version
name=okta-connector-verify-$$
work=$(mktemp -d /tmp/okta-connector-image.XXXXXX)
cleanup() {
    podman ps -a --filter "name=^$name" --format '{{.Names}}' | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
    podman volume ls --filter "name=^$name" --format '{{.Name}}' | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

log "base images"
scripts/make-base-images.sh swift debian | grep -v '^$'

# --- 2. build -------------------------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "podman build -f deploy/Dockerfile (release build, version $version, commit $commit)"
    t0=$(date +%s)
    nice -n 15 podman build -f deploy/Dockerfile --build-arg VERSION="$version" --build-arg COMMIT="$commit" \
        --target okta-connector -t "$image" -t okta-connector:local . 2>&1 | tee "$work/build.log" |
        grep -E '^(STEP|COMMIT|Successfully|okta-connector [0-9])|error:|Error' || true
    [[ ${PIPESTATUS[0]} -eq 0 ]] || { tail -n 40 "$work/build.log"; fail "podman build"; }
    build_seconds=$(($(date +%s) - t0))
    echo "built $image in ${build_seconds} s"
    if [[ ${SKIP_SIM:-0} != 1 ]]; then
        log "podman build --target okta-sim (the compose stack's simulator)"
        t0=$(date +%s)
        nice -n 15 podman build -f deploy/Dockerfile --build-arg VERSION="$version" --build-arg COMMIT="$commit" \
            --target okta-sim -t okta-sim:local . >"$work/build-sim.log" 2>&1 || { tail -n 40 "$work/build-sim.log"; fail "podman build --target okta-sim"; }
        echo "built okta-sim:local in $(($(date +%s) - t0)) s"
    fi
fi
podman image exists "$image" || fail "no image $image (run without SKIP_BUILD=1)"
size=$(podman image inspect --format '{{.Size}}' "$image")
layers=$(podman image inspect --format '{{len .RootFS.Layers}}' "$image")
base_layers=$(podman image inspect --format '{{len .RootFS.Layers}}' debian:bookworm-slim)
echo "image $image: $(numfmt --to=iec --suffix=B "$size") ($size bytes), $layers layers ($base_layers from debian:bookworm-slim)"
echo "user $(podman image inspect --format '{{.Config.User}}' "$image"), entrypoint $(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$image")"
echo "labels: $(podman image inspect --format '{{index .Labels "org.opencontainers.image.version"}} {{index .Labels "org.opencontainers.image.revision"}}' "$image")"

# --- the Kubernetes way of running it ---------------------------------------------------------------
# readOnlyRootFilesystem, runAsUser/runAsGroup 10001, capabilities drop ALL, allowPrivilegeEscalation
# false; /tmp an emptyDir (not podman's default tmpfs set: --read-only-tmpfs=false), the data folder a volume.
# shellcheck disable=SC2054 # the commas are --tmpfs options
locked=(--read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m,mode=1777 --user 10001:10001
    --cap-drop ALL --security-opt no-new-privileges --env TZ=UTC)

log "okta-connector version (locked down)"
out=$(podman run --rm "${locked[@]}" "$image" version)
echo "$out"
# With SKIP_BUILD=1 the image may be older than HEAD: it must then report the commit it was built from.
built_from=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$image")
[[ $built_from == "$commit" ]] || echo "(the image was built from commit $built_from; HEAD is $commit)"
[[ $out == "okta-connector $version (commit $built_from)"* ]] || fail "expected 'okta-connector $version (commit $built_from)'"

log "okta-connector demo --seconds 5 (locked down, data on a volume)"
podman run --rm "${locked[@]}" --volume "$name-demo:/var/lib/okta-connector" "$image" \
    demo --seconds 5 --users 500 --directory /var/lib/okta-connector/demo >"$work/demo.log" 2>&1 ||
    { cat "$work/demo.log"; fail "demo"; }
tail -n 12 "$work/demo.log"

# The Secrets and the ConfigMap as the Deployment mounts them (defaultMode 0440, group 10001).
secrets=$work/secrets tls=$work/tls config=$work/config
mkdir -p "$secrets" "$tls" "$config"
hook_secret=$(openssl rand -hex 24)
printf '%s\n' "$hook_secret" >"$secrets/okta-hook-secrets"
# Every other file the configuration names under the Secret's folder gets a random value (the admin
# and metrics tokens, the Okta API token, the sink's client secret): read from the file itself, so a
# secret added to config.yaml cannot be missed here.
grep -o '/run/secrets/okta-connector/[A-Za-z0-9._-]*' deploy/kubernetes/base/config.yaml | sort -u |
    while read -r file; do
        [[ -e $secrets/${file##*/} ]] || openssl rand -hex 16 >"$secrets/${file##*/}"
    done
echo "dummy secrets: $(cd "$secrets" && echo *)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=okta-connector" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
cp deploy/kubernetes/base/config.yaml "$config/config.yaml"
chown -R 0:10001 "$secrets" "$tls" "$config"
chmod 0440 "$secrets"/* "$tls"/*
chmod 0644 "$config/config.yaml"
chmod 0755 "$secrets" "$tls" "$config"
mounts=(--volume "$config:/etc/okta-connector:ro" --volume "$secrets:/run/secrets/okta-connector:ro"
    --volume "$tls:/run/secrets/okta-connector-tls:ro")

log "okta-connector check-config (deploy/kubernetes/base/config.yaml, mounted secrets)"
podman run --rm "${locked[@]}" "${mounts[@]}" "$image" check-config --config /etc/okta-connector/config.yaml

# --- 4. serve ---------------------------------------------------------------------------------------
log "okta-connector serve (the image's command, locked down, mounted configuration and secrets)"
t0=$(date +%s.%N)
podman run -d --name "$name-serve" "${locked[@]}" "${mounts[@]}" --volume "$name-data:/var/lib/okta-connector" \
    "$image" >/dev/null
ip=$(podman inspect --format '{{.NetworkSettings.IPAddress}}' "$name-serve")
# The admin listener speaks HTTPS with the listener's certificate, as the Kubernetes probes expect.
admin() { curl -s --cacert "$tls/tls.crt" --resolve "localhost:9090:$ip" "$@"; }
ready=
for _ in $(seq 1 600); do
    if [[ $(admin -o /dev/null -w '%{http_code}' --max-time 1 https://localhost:9090/readyz) == 200 ]]; then
        ready=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
        break
    fi
    [[ $(podman inspect --format '{{.State.Running}}' "$name-serve") == true ]] || break
    sleep 0.1
done
[[ -n $ready ]] || { podman logs "$name-serve" | tail -n 30; fail "no /readyz 200"; }
echo "podman run to /readyz 200: $ready s (container $ip)"
admin https://localhost:9090/readyz; echo

delivery() { # secret, event uuid
    printf '{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","eventId":"%s","eventTime":"%s","contentType":"application/json","cloudEventsVersion":"0.1","source":"https://acme.okta.com/api/v1/eventHooks/who","data":{"events":[{"uuid":"%s","published":"%s","eventType":"user.lifecycle.deactivate","version":"0","severity":"INFO","displayMessage":"Deactivate Okta user","actor":{"id":"00uadmin","type":"User"},"outcome":{"result":"SUCCESS"},"target":[{"id":"00uverify1","type":"User","alternateId":"verify@example.com","displayName":"Verify User"}]}]}}' \
        "delivery-$2" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$2" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" |
        curl -s -o "$work/response" -w '%{http_code}' --cacert "$tls/tls.crt" --resolve "localhost:8443:$ip" \
            -H "Authorization: $1" -H 'Content-Type: application/json' --data-binary @- \
            https://localhost:8443/hooks/okta/okta-production
}
code=$(delivery "$hook_secret" "$(cat /proc/sys/kernel/random/uuid)")
echo "signed delivery (HTTPS, the hook secret from the mounted file): HTTP $code"
[[ $code == 200 ]] || { cat "$work/response"; podman logs "$name-serve" | tail -n 20; fail "delivery not acknowledged"; }
code=$(delivery "wrong-secret" "$(cat /proc/sys/kernel/random/uuid)")
echo "delivery with a wrong secret: HTTP $code"
[[ $code == 401 ]] || fail "a wrong secret was answered $code, not 401"
# Scraped the way Prometheus does in the manifests: with the metrics token (server.admin.metrics_token_file).
metrics_token=$(cat "$secrets/metrics-token")
code=$(admin -o "$work/metrics" -w '%{http_code}' -H "Authorization: Bearer $metrics_token" https://localhost:9090/metrics)
echo "GET /metrics with the metrics token: HTTP $code"
[[ $code == 200 ]] || fail "the metrics token was answered $code on /metrics"
grep -E '^okta_connector_(build_info|deliveries_total|events_received_total)[{ ]' "$work/metrics" | head -n 8 || true

log "podman stop (SIGTERM; grace: terminationGracePeriodSeconds 30, server.shutdown_timeout 20s)"
t0=$(date +%s.%N)
podman stop -t 30 "$name-serve" >/dev/null
stopped=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$name-serve")
echo "stopped in $stopped s, exit code $exit_code"
# A slow stop shows what it waited for (from SIGTERM on), a quick one its last lines.
if python3 -c "import sys; sys.exit(0 if $stopped > 5 else 1)"; then
    podman logs "$name-serve" 2>&1 | sed -n '/"msg":"stopping"/,$p' | cut -c1-400
else
    podman logs "$name-serve" 2>&1 | tail -n 4
fi
[[ $exit_code == 0 ]] || fail "serve exited $exit_code on SIGTERM"
python3 -c "import sys; sys.exit(0 if $stopped < 20 else 1)" || fail "the stop took $stopped s (not within shutdown_timeout 20 s)"
podman rm -v "$name-serve" >/dev/null

# --- 5. bad input --------------------------------------------------------------------------------
log "bad input: each container ends non-zero with the binary's message (podman ps -a)"
bad() { # label, podman run arguments... (the container is left for podman ps -a, then removed)
    local label=$1
    shift
    podman run -d --name "$name-$label" "$@" >/dev/null
    if ! timeout 60 podman wait "$name-$label" >/dev/null; then
        podman logs "$name-$label" 2>&1 | tail -n 5
        fail "$label: still running after 60 s"
    fi
    local status code
    status=$(podman ps -a --filter "name=^$name-$label\$" --format '{{.Status}}')
    code=$(podman inspect --format '{{.State.ExitCode}}' "$name-$label")
    echo "-- $label: podman ps -a: $status"
    podman logs "$name-$label" 2>&1 | tail -n 3 | sed 's/^/   /'
    [[ $code != 0 ]] || fail "$label: exit code 0"
    podman rm -v "$name-$label" >/dev/null
}
missing=$work/secrets-missing
cp -a "$secrets" "$missing"
rm "$missing/okta-hook-secrets"
bad missing-secret "${locked[@]}" --volume "$config:/etc/okta-connector:ro" \
    --volume "$missing:/run/secrets/okta-connector:ro" --volume "$tls:/run/secrets/okta-connector-tls:ro" "$image"
unreadable=$work/config-unreadable
cp -a "$config" "$unreadable"
chmod 0600 "$unreadable/config.yaml"
chown 0:0 "$unreadable/config.yaml"
bad unreadable-config "${locked[@]}" --volume "$unreadable:/etc/okta-connector:ro" \
    --volume "$secrets:/run/secrets/okta-connector:ro" --volume "$tls:/run/secrets/okta-connector-tls:ro" "$image"
# A folder owned by root (a hostPath or a bind mount; podman gives a new named volume the image
# folder's owner, 10001, so that case cannot go wrong).
wrong_uid=$work/data-owned-by-root
install -d -o 0 -g 0 -m 0755 "$wrong_uid"
bad wrong-uid-volume "${locked[@]}" "${mounts[@]}" --volume "$wrong_uid:/var/lib/okta-connector" "$image"

log "PASS in $(($(date +%s) - started)) s: $image ($(numfmt --to=iec --suffix=B "$size"), $layers layers${build_seconds:+, built in $build_seconds s}) runs read-only as UID 10001 without capabilities; /readyz after $ready s; stopped in $stopped s"
