#!/usr/bin/env bash
# Installs okta-connector as a systemd service on a Debian/Ubuntu VM (deploy/README.md, "systemd").
#
#   sudo deploy/systemd/install.sh path/to/okta-connector [path/to/config.yaml]
#
# Installs the runtime packages, the binary to /usr/local/bin, a system user `okta-connector`
# (UID/GID 10001, the same as the container image), the unit, and the configuration to
# /etc/okta-connector/config.yaml (only when none exists there). Checks the configuration, then
# enables and starts the service. Run again to upgrade the binary (the service is restarted).
set -euo pipefail

binary=${1:?usage: install.sh path/to/okta-connector [config.yaml]}
config=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) -eq 0 ]] || { echo "install.sh: run as root" >&2; exit 1; }

# The same runtime packages as the container image (deploy/Dockerfile).
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libsqlite3-0 tzdata

getent group okta-connector >/dev/null || groupadd --system --gid 10001 okta-connector
getent passwd okta-connector >/dev/null ||
    useradd --system --uid 10001 --gid okta-connector --home-dir /var/lib/okta-connector --no-create-home \
        --shell /usr/sbin/nologin okta-connector

install -m 0755 "$binary" /usr/local/bin/okta-connector.new
mv -f /usr/local/bin/okta-connector.new /usr/local/bin/okta-connector
/usr/local/bin/okta-connector version

install -d -m 0750 -o root -g okta-connector /etc/okta-connector /etc/okta-connector/secrets
if [[ -n $config && ! -e /etc/okta-connector/config.yaml ]]; then
    install -m 0640 -o root -g okta-connector "$config" /etc/okta-connector/config.yaml
fi
install -m 0644 "$here/okta-connector.service" /etc/systemd/system/okta-connector.service
systemctl daemon-reload

if [[ ! -e /etc/okta-connector/config.yaml ]]; then
    echo "Write /etc/okta-connector/config.yaml (deploy/okta-connector.example.yaml), then:"
    echo "  systemctl enable --now okta-connector"
    exit 0
fi
# The unit runs check-config before each start too; this shows problems now.
runuser -u okta-connector -- /usr/local/bin/okta-connector check-config --config /etc/okta-connector/config.yaml
systemctl enable okta-connector
systemctl restart okta-connector
systemctl --no-pager status okta-connector
