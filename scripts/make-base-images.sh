#!/usr/bin/env bash
# Makes, from Debian's packages, the base images deploy/Dockerfile and deploy/compose/compose.yaml
# name, under the same names and tags, so that the unchanged Dockerfile and compose file build and
# run with podman where no image registry is reachable (deploy/README.md, "Running it with podman"):
#
#   swift:6.3.1-bookworm     Debian bookworm (what the official image installs for the toolchain) +
#                            the installed toolchain (/opt/swift/usr, copied into /usr as the
#                            official image has it) + the local Swift package mirror
#                            (/opt/swift-packages) + /etc/gitconfig redirecting GitHub addresses to it
#   debian:bookworm-slim     mmdebstrap --variant=minbase (what the official slim image is made from)
#   postgres:15-bookworm     Debian's postgresql-15 + scripts/base-images/postgres-entrypoint.sh (the
#                            POSTGRES_USER/POSTGRES_DB/POSTGRES_PASSWORD_FILE part of the official one)
#   haproxy:2.8-bookworm     Debian's haproxy: bookworm ships 2.6, under the tag the compose file names
#                            (the stack's haproxy.cfg uses nothing newer than 2.6)
#
# Each root filesystem is a tarball cached under $BASE_IMAGE_CACHE (default
# /var/cache/okta-connector-ci/base-images), keyed by its package list (and, for the builder, the
# toolchain's version and the mirror's refs); an image already in podman's storage with the same key
# (label okta-connector.base-key) is kept as it is, so a second run takes seconds.
#
# Also installs podman, runc, podman-compose and mmdebstrap when missing, and writes
# /etc/containers/containers.conf with the three settings podman needs here (SPEC §23) when that file
# does not exist (an existing one is left alone and checked).
#
#   scripts/make-base-images.sh [image ...]     # default: all four; e.g. `swift debian`
# Needs root.
# The mmdebstrap hooks are single-quoted on purpose: mmdebstrap runs them with the root folder as $1.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
[[ $(id -u) -eq 0 ]] || { echo "make-base-images: needs root (podman as root, mmdebstrap)" >&2; exit 1; }

# --- the tools -----------------------------------------------------------------------------------
missing=()
for tool in podman:podman runc:runc podman-compose:podman-compose mmdebstrap:mmdebstrap; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
if [[ ! -e $conf ]]; then
    log "writing $conf (runc, cgroupfs, no default ulimits: what podman needs on this machine)"
    mkdir -p /etc/containers
    cat >"$conf" <<'CONF'
# Written by okta-connector's scripts/make-base-images.sh (SPEC §23): podman as root on a machine
# without systemd cgroups and without the rights to raise the default ulimits.
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
else
    for setting in 'default_ulimits *= *\[\]' 'cgroup_manager *= *"cgroupfs"' 'runtime *= *"runc"'; do
        grep -Eq "^[[:space:]]*$setting" "$conf" ||
            echo "make-base-images: warning: $conf exists without '${setting// \*/ }'; podman may fail here" >&2
    done
fi

# --- the images ----------------------------------------------------------------------------------
cache=${BASE_IMAGE_CACHE:-/var/cache/okta-connector-ci/base-images}
mkdir -p "$cache"
mirrors=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)

# What the official swift:*-bookworm image installs for the toolchain (its Dockerfile), plus
# ca-certificates for git and apt over HTTPS.
swift_packages=(binutils ca-certificates git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev
    libncurses-dev libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata
    unzip zlib1g-dev)
swift_version() { /opt/swift/usr/bin/swift --version 2>/dev/null | head -n 1; }
mirror_state() { # every ref of every repository in the mirror: a new tag makes a new image
    find /opt/swift-packages \( -name packed-refs -o -path '*/refs/tags/*' \) -type f | sort | xargs cat | sha256sum
}

# make NAME:TAG KEY-PARTS... -- mmdebstrap options... -- podman import --change options...
make_image() {
    local name=$1
    shift
    local key_parts=()
    while [[ $1 != -- ]]; do key_parts+=("$1"); shift; done
    shift
    local debstrap=()
    while [[ $1 != -- ]]; do debstrap+=("$1"); shift; done
    shift
    local key
    # The root filesystem's key (what mmdebstrap is given) names the tarball; the image's key adds
    # the image settings (podman import --change), so a changed setting only imports again.
    local root_key key
    # The checkout's own path (the postgres entrypoint's hook names it) is left out of the key, so
    # that every checkout and worktree of the repository finds the same tarball and image.
    root_key=$(printf '%s\n' "$name" "${key_parts[@]}" "${debstrap[@]//"$repo"/.}" "${mirrors[@]}" | sha256sum | cut -c1-16)
    key=$(printf '%s\n' "$root_key" "$@" | sha256sum | cut -c1-16)
    local reference=docker.io/library/$name
    if [[ $(podman image inspect --format '{{index .Labels "okta-connector.base-key"}}' "$reference" 2>/dev/null) == "$key" ]]; then
        echo "$name: in podman's storage (key $key), kept"
        return
    fi
    local tarball=$cache/${name//[:\/]/-}-$root_key.tar
    if [[ -f $tarball ]]; then
        echo "$name: cached root filesystem $tarball"
    else
        echo "$name: mmdebstrap (key $root_key)"
        rm -f "$cache/${name//[:\/]/-}"-*.tar
        local t0=$SECONDS
        nice -n 15 mmdebstrap --quiet --format=tar --variant=minbase --aptopt='APT::Install-Recommends "false"' \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/var/log/dpkg.log' \
            "${debstrap[@]}" bookworm "$tarball.partial" "${mirrors[@]}"
        mv "$tarball.partial" "$tarball"
        echo "$name: root filesystem $(du -h "$tarball" | cut -f1) in $((SECONDS - t0)) s"
    fi
    local t1=$SECONDS previous
    previous=$(podman image inspect --format '{{.Id}}' "$reference" 2>/dev/null || true)
    nice -n 15 podman import --quiet --change "LABEL=okta-connector.base-key=$key" "$@" "$tarball" "$reference" >/dev/null
    echo "$name: imported as $reference in $((SECONDS - t1)) s ($(podman image inspect --format '{{.Size}}' "$reference" | numfmt --to=iec))"
    # The image it replaces, unless a build's layers still use it.
    if [[ -n $previous ]]; then podman rmi "$previous" >/dev/null 2>&1 || true; fi
}

# The official images set PATH; an imported image has no environment at all (podman run supplies a
# default PATH, podman kube play does not).
path='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
if (($#)); then wanted=("$@"); else wanted=(swift debian postgres haproxy); fi
for image in "${wanted[@]}"; do
    case $image in
    debian)
        log "debian:bookworm-slim"
        make_image debian:bookworm-slim -- -- --change "$path" --change 'CMD ["bash"]'
        ;;
    swift)
        log "swift:6.3.1-bookworm (Debian + /opt/swift + /opt/swift-packages + git redirect)"
        [[ -x /opt/swift/usr/bin/swift && -d /opt/swift-packages ]] || {
            echo "make-base-images: needs the toolchain in /opt/swift and the package mirror in /opt/swift-packages" >&2
            exit 1
        }
        [[ $(swift_version) == *"Swift version 6.3.1 "* ]] ||
            echo "make-base-images: warning: /opt/swift is '$(swift_version)', tagged swift:6.3.1-bookworm all the same" >&2
        make_image swift:6.3.1-bookworm "$(swift_version)" "$(mirror_state)" -- \
            --include="$(IFS=,; echo "${swift_packages[*]}")" \
            --customize-hook='cp -a /opt/swift/usr/. "$1/usr/"' \
            --customize-hook='mkdir -p "$1/opt" && cp -a /opt/swift-packages "$1/opt/"' \
            --customize-hook='printf "[url \"/opt/swift-packages/\"]\n\tinsteadOf = https://github.com/\n\tinsteadOf = git@github.com:\n\tinsteadOf = ssh://git@github.com/\n" >"$1/etc/gitconfig"' \
            -- --change "$path" --change 'CMD ["bash"]'
        ;;
    postgres)
        log "postgres:15-bookworm (Debian's postgresql-15)"
        make_image postgres:15-bookworm "$(sha256sum scripts/base-images/postgres-entrypoint.sh)" -- \
            --include=postgresql-15,tzdata,locales \
            --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/no-main-cluster.conf"' \
            --customize-hook="install -D -m 0755 $repo/scripts/base-images/postgres-entrypoint.sh \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
            --customize-hook='install -d -o 0 -g 0 -m 0755 "$1/var/lib/postgresql"' \
            --customize-hook='chroot "$1" chown -R postgres:postgres /var/lib/postgresql' \
            -- --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV PGDATA=/var/lib/postgresql/data' --change 'ENV LANG=C.UTF-8' \
            --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["postgres"]' \
            --change 'STOPSIGNAL SIGINT' --change 'EXPOSE 5432' --change 'VOLUME /var/lib/postgresql/data'
        ;;
    haproxy)
        log "haproxy:2.8-bookworm (Debian's haproxy, 2.6)"
        make_image haproxy:2.8-bookworm -- --include=haproxy,ca-certificates \
            --customize-hook='install -d -m 0755 "$1/usr/local/etc/haproxy"' \
            -- --change "$path" --change 'USER haproxy' --change 'WORKDIR /var/lib/haproxy' \
            --change 'CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' \
            --change 'STOPSIGNAL SIGUSR1'
        ;;
    *)
        echo "make-base-images: unknown image '$image' (swift, debian, postgres, haproxy)" >&2
        exit 2
        ;;
    esac
done

log "base images ready in $(($(date +%s) - started)) s"
for image in swift:6.3.1-bookworm debian:bookworm-slim postgres:15-bookworm haproxy:2.8-bookworm; do
    podman image exists "$image" && echo "$image  $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=si --suffix=B)"
done
