#!/usr/bin/env bash
# Proves that the container image's runtime stage is complete, without a container engine:
#
#  1. builds the release binary exactly as deploy/Dockerfile does (static Swift standard library,
#     version stamped) — or takes BINARY=path;
#  2. assembles a minimal Debian bookworm root filesystem (mmdebstrap, variant minbase: what
#     debian:bookworm-slim is made from) with ONLY the runtime packages the Dockerfile's runtime
#     stage installs (read from the Dockerfile, so the two cannot drift apart), cached as a tarball
#     under .build-rootfs/ for a week;
#  3. adds the binary and the same unprivileged user (UID/GID 10001), mounts /proc, /sys and /dev
#     as a container runtime would, and runs, as that user (chroot --userspec):
#       - `okta-connector version` (must report this checkout's version and commit),
#       - `okta-connector demo --seconds 5` (simulator, HTTPS hook listener, SQLite, the sink),
#       - `okta-connector check-config` on deploy/okta-connector.example.yaml (time zone
#         Europe/Berlin: needs tzdata) and on the Kubernetes and cron configurations,
#       - `okta-connector check-config --online` against a local HTTPS server whose certificate
#         chains to a CA added to the root filesystem's trust store the Debian way
#         (update-ca-certificates): passes only if the binary verifies TLS with the system CA bundle.
#  A missing shared library, CA bundle or time-zone database fails it.
#
#   scripts/verify-runtime-rootfs.sh            # BINARY=path skips the build; ROOTFS_CACHE=folder
# Needs root (chroot, mounts), mmdebstrap (installed when missing), openssl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
[[ $(id -u) -eq 0 ]] || { echo "verify-runtime-rootfs: needs root (chroot, mount)" >&2; exit 1; }

# The runtime packages: the apt-get install line of the Dockerfile's `runtime` stage.
mapfile -t packages < <(awk '/^FROM .* AS runtime$/ { stage = 1; next } /^FROM / { stage = 0 }
    stage && /apt-get install/ { for (i = 1; i <= NF; i++) if ($i ~ /^[a-z0-9][a-z0-9.+-]+$/ && $i != "apt-get" && $i != "install") print $i }' \
    deploy/Dockerfile | sort -u)
((${#packages[@]})) || { echo "verify-runtime-rootfs: no packages found in deploy/Dockerfile's runtime stage" >&2; exit 1; }
log "runtime packages (deploy/Dockerfile): ${packages[*]}"

# 1. The release binary, as in the Dockerfile.
if [[ -n ${BINARY:-} ]]; then
    binary=$BINARY
else
    log "release build (static Swift standard library)"
    scripts/stamp-version.sh
    swift build -c release --static-swift-stdlib --product okta-connector -Xswiftc -DOKTA_CONNECTOR_STAMPED
    binary="$(swift build -c release --show-bin-path)/okta-connector"
fi
log "binary: $(du -h "$binary" | cut -f1) $binary"
ldd "$binary"

# 2. The root filesystem, cached.
command -v mmdebstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
}
# ROOTFS_CACHE: where the tarball is kept (CI sets a folder outside its fresh clone, so that runs on
# the same machine share it).
cache=${ROOTFS_CACHE:-.build-rootfs}
mkdir -p "$cache"
key=$(printf '%s\n' bookworm minbase "${packages[@]}" | sha256sum | cut -c1-12)
tarball=$cache/bookworm-minbase-$key.tar
if [[ -f $tarball && -n $(find "$tarball" -mtime -7) ]]; then
    log "root filesystem: cached $tarball"
else
    log "root filesystem: mmdebstrap bookworm minbase + ${packages[*]}"
    rm -f "$cache"/bookworm-minbase-*.tar
    mmdebstrap --quiet --format=tar --variant=minbase --aptopt='APT::Install-Recommends "false"' \
        --include="$(IFS=,; echo "${packages[*]}")" bookworm "$tarball.partial"
    mv "$tarball.partial" "$tarball"
fi

root=$(mktemp -d /tmp/okta-connector-rootfs.XXXXXX)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    for mount in dev/pts dev sys proc; do umount "$root/$mount" 2>/dev/null || true; done
    # Never delete through a mount that is still there.
    if ! grep -q " $root/" /proc/mounts; then rm -rf "$root"; fi
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
log "root filesystem: $(du -sh --exclude=proc --exclude=sys --exclude=dev "$root" | cut -f1) unpacked, $(chroot "$root" dpkg-query -W | wc -l) packages"

# 3. The image's layout: binary, user, folders (as in deploy/Dockerfile).
# Stripped, as the Dockerfile installs it.
install -s -m 0755 "$binary" "$root/usr/local/bin/okta-connector"
echo "binary in the root filesystem (stripped): $(du -h "$root/usr/local/bin/okta-connector" | cut -f1)"
chroot "$root" groupadd --gid 10001 okta-connector
chroot "$root" useradd --no-log-init --uid 10001 --gid 10001 --home-dir /var/lib/okta-connector --no-create-home \
    --shell /usr/sbin/nologin okta-connector
install -d -m 0750 -o 10001 -g 10001 "$root/var/lib/okta-connector"
install -d -m 0755 "$root/etc/okta-connector"
# What a container runtime provides: /proc, /sys, /dev, /etc/hosts.
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --bind /dev "$root/dev"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

as_user() { chroot --userspec=10001:10001 "$root" env -i HOME=/var/lib/okta-connector TZ=UTC PATH=/usr/local/bin:/usr/bin:/bin "$@"; }

log "no missing shared library (ldd inside the root filesystem)"
libraries=$(chroot "$root" ldd /usr/local/bin/okta-connector)
echo "$libraries"
if grep -q "not found" <<<"$libraries"; then
    echo "FAIL: a shared library is missing from the runtime packages" >&2
    exit 1
fi

log "okta-connector version"
version=$(as_user okta-connector version)
echo "$version"
expected="okta-connector $(tr -d '[:space:]' <VERSION) "
[[ $version == "$expected"* && $version != *"(commit unknown)" ]] || {
    echo "FAIL: expected '$expected(commit ...)'" >&2
    exit 1
}

log "okta-connector demo --seconds 5 (as UID 10001)"
as_user timeout 180 okta-connector demo --seconds 5 --users 500 --directory /var/lib/okta-connector/demo \
    >"$root/tmp/demo.log" 2>&1 || { cat "$root/tmp/demo.log"; echo "FAIL: demo" >&2; exit 1; }
tail -n 15 "$root/tmp/demo.log"
grep -q . "$root"/var/lib/okta-connector/demo/*.ndjson 2>/dev/null ||
    ls -R "$root/var/lib/okta-connector/demo" | head -20

# Configurations with their secret files in place (dummy values, a real key pair for TLS).
secrets=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=okta-connector" \
    -addext "subjectAltName=DNS:localhost" -keyout "$secrets/tls.key" -out "$secrets/tls.crt" 2>/dev/null
place() { install -D -m 0640 -o root -g 10001 "$1" "$root$2"; }
for file in okta-api-token admin-token neurons-client-secret; do echo "dummy-$file" >"$secrets/$file"; done
echo "dummy-hook-secret-0123456789abcdef" >"$secrets/okta-hook-secrets"
for file in okta-api-token admin-token neurons-client-secret okta-hook-secrets; do
    place "$secrets/$file" "/run/secrets/okta-connector/$file"
    place "$secrets/$file" "/run/secrets/$file"
    place "$secrets/$file" "/run/secrets/okta-connector-$file"
done
place "$secrets/tls.crt" /run/secrets/okta-connector-tls/tls.crt
place "$secrets/tls.key" /run/secrets/okta-connector-tls/tls.key
place "$secrets/tls.crt" /etc/okta-connector/tls.crt
place "$secrets/tls.key" /etc/okta-connector/tls.key
echo "dummy-hook-secret-0123456789abcdef" >"$secrets/okta-service-app.pem"

check() { # file in the repository, environment...
    local source=$1
    shift
    install -m 0644 "$source" "$root/etc/okta-connector/config.yaml"
    log "okta-connector check-config: $source"
    chroot --userspec=10001:10001 "$root" env -i TZ=UTC "$@" \
        /usr/local/bin/okta-connector check-config --config /etc/okta-connector/config.yaml
}
check deploy/okta-connector.example.yaml OKTA_API_TOKEN=dummy OKTA_HOOK_SECRET=dummy-hook-secret-0123456789abcdef
check deploy/kubernetes/base/config.yaml
check deploy/kubernetes/examples/cronjob-reconcile/config.yaml

log "TLS with the system CA bundle: check-config --online against a local HTTPS server"
bundle=$root/etc/ssl/certs/ca-certificates.crt
[[ -s $bundle ]] || { echo "FAIL: no CA bundle at /etc/ssl/certs/ca-certificates.crt" >&2; exit 1; }
echo "$(grep -c 'BEGIN CERTIFICATE' "$bundle") certificates in /etc/ssl/certs/ca-certificates.crt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=verify-runtime test CA" \
    -keyout "$secrets/ca.key" -out "$secrets/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$secrets/server.key" -out "$secrets/server.csr" 2>/dev/null
openssl x509 -req -in "$secrets/server.csr" -CA "$secrets/ca.crt" -CAkey "$secrets/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n') -out "$secrets/server.crt" 2>/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A stand-in for Okta: answers every request with Okta's 401 for a bad token.
python3 - "$port" "$secrets/server.crt" "$secrets/server.key" >"$secrets/server.log" 2>&1 <<'PY' &
import http.server, json, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"errorCode": "E0000011", "errorSummary": "Invalid token provided"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
server_pid=$!
# Only the Okta checks: the sink's token URL is not reachable from here.
sed -e "s|url: https://acme.okta.com|url: https://localhost:$port|" deploy/kubernetes/base/config.yaml >"$secrets/online.yaml"
install -m 0644 "$secrets/online.yaml" "$root/etc/okta-connector/config.yaml"
sleep 1
online() {
    chroot --userspec=10001:10001 "$root" env -i TZ=UTC /usr/local/bin/okta-connector check-config --online \
        --config /etc/okta-connector/config.yaml 2>&1 | grep "Okta users" || true
}
# Control: before the test CA is trusted, the handshake must fail (so verification is really on).
before=$(online)
echo "without the test CA: $before"
if grep -q "Okta rejected the credentials (401" <<<"$before"; then
    echo "FAIL: the binary accepted a certificate from an untrusted CA" >&2
    exit 1
fi
install -D -m 0644 "$secrets/ca.crt" "$root/usr/local/share/ca-certificates/verify-runtime-test-ca.crt"
chroot "$root" update-ca-certificates 2>&1 | grep -v "^rehash: warning: skipping ca-certificates.crt" || true
after=$(online)
echo "with the test CA in the system bundle: $after"
# Okta's 401 reached the binary: the TLS handshake completed, verified by the system CA bundle.
grep -q "Okta rejected the credentials (401" <<<"$after" || {
    echo "FAIL: no TLS connection verified by the system CA bundle" >&2
    exit 1
}

# Negative controls: each runtime package's part taken away again must make a check fail, so the
# checks above really depend on what the packages bring.
log "negative controls: without each package's files the checks fail"
aside=$root/.aside
mkdir -p "$aside"
without() { # path in the root filesystem, description, command that must fail
    local path=$1 what=$2
    shift 2
    mv "$root$path" "$aside/"
    if "$@" >/dev/null 2>&1; then
        mv "$aside/$(basename "$path")" "$root$(dirname "$path")/"
        echo "FAIL: still passes without $what ($path)" >&2
        exit 1
    fi
    mv "$aside/$(basename "$path")" "$root$(dirname "$path")/"
    echo "without $what ($path): fails, as it must"
}
sqlite=$(cd "$root" && ls usr/lib/x86_64-linux-gnu/libsqlite3.so.0 2>/dev/null || ls usr/lib/*/libsqlite3.so.0)
without "/$sqlite" "libsqlite3-0" as_user okta-connector version
install -m 0644 deploy/okta-connector.example.yaml "$root/etc/okta-connector/config.yaml"
without /usr/share/zoneinfo "tzdata" chroot --userspec=10001:10001 "$root" env -i TZ=UTC OKTA_API_TOKEN=x \
    OKTA_HOOK_SECRET=dummy-hook-secret-0123456789abcdef /usr/local/bin/okta-connector check-config \
    --config /etc/okta-connector/config.yaml
install -m 0644 "$secrets/online.yaml" "$root/etc/okta-connector/config.yaml"
verified() { online | grep -q "Okta rejected the credentials (401"; }
without /etc/ssl/certs "the CA certificates (ca-certificates)" verified
rmdir "$aside"
rm -rf "$secrets"

log "PASS in $(($(date +%s) - started)) s: the runtime stage (${packages[*]}) runs okta-connector as UID 10001"
