#!/usr/bin/env bash
# The deploy test: `npm run test:deploy` (.ci/run runs it after `npm test`). On a Debian machine
# as root, with no container registry:
#   1. installs Debian's docker.io, docker-compose and mmdebstrap if missing (apt-get);
#   2. uses a running Docker engine, or starts a private one (its own socket and folders, no
#      iptables rules, no default bridge, IP forwarding left alone) and stops it at the end;
#   3. builds the test-only stand-ins for node:20-bookworm-slim, postgres:15 and redis:7
#      (deploy/standins/) and the project's image from the unchanged Dockerfile;
#   4. `docker compose up` of the unchanged compose.yaml with two detector workers, then
#      test/deploy/compose.check.ts: register, upload, SIGKILL a busy detector, the job completes
#      with every frame once;
#   5. `docker compose down -v` and removes what it built, also when a step fails (trap).
# Traffic: the API is reached on 127.0.0.1 only; the containers talk on the project's own bridge;
# image builds use the host's network (Debian's mirrors, the npm registry). Every wait is bounded.
# Environment: WD_DEPLOY_KEEP=1 leaves everything running for a look after a failure (prints where);
# WD_DEPLOY_TMPFS=0 keeps the private engine's layers on disk (default: a tmpfs with 12 GiB free).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

T0=$(date +%s)
log() { printf '[deploy %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
step_start=0
step() { step_start=$(date +%s); log "$*"; }
step_done() { log "  done in $(($(date +%s) - step_start)) s"; }

W=$(mktemp -d /var/tmp/wd-deploy-test.XXXXXX)
PROJECT=wddeploy$$
export WD_IMAGE=web-detector:deploy-test-$$
export WD_ENV_FILE=$W/deploy.env
export DEBIAN_FRONTEND=noninteractive
OWN_ENGINE=0
BUILT_IMAGES=()
LINKS_BEFORE=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort)
FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo "")

# ---- cleanup: runs on every exit
compose_cmd=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "${WD_DEPLOY_KEEP:-0}" = 1 ]; then
    log "WD_DEPLOY_KEEP=1: left running. DOCKER_HOST=${DOCKER_HOST:-} project $PROJECT, work dir $W"
    exit "$rc"
  fi
  log "cleaning up"
  if [ ${#compose_cmd[@]} -gt 0 ] && docker info >/dev/null 2>&1; then
    if [ "$rc" != 0 ]; then
      "${compose_cmd[@]}" ps >&2 2>&1
      "${compose_cmd[@]}" logs --no-color --tail 40 >"$W/compose-logs.txt" 2>&1 && tail -n 120 "$W/compose-logs.txt" >&2
    fi
    timeout 120 "${compose_cmd[@]}" down -v --remove-orphans -t 10 >/dev/null 2>&1
  fi
  if [ "$OWN_ENGINE" = 1 ]; then
    local s0=$(date +%s)
    stop_engine
    log "  engine stopped in $(($(date +%s) - s0)) s"
  else
    for img in "$WD_IMAGE" "${BUILT_IMAGES[@]}"; do docker image rm -f "$img" >/dev/null 2>&1; done
    docker image prune -f --filter label=org.web-detector.standin >/dev/null 2>&1
  fi
  # nothing of ours may stay behind: bridges, iptables chains, IP forwarding
  local link
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | comm -13 <(echo "$LINKS_BEFORE") -); do
    case "$link" in br-* | docker0 | veth*) log "removing leftover interface $link"; ip link delete "$link" 2>/dev/null ;; esac
  done
  if [ "$OWN_ENGINE" = 1 ] && command -v iptables-save >/dev/null 2>&1 && iptables-save 2>/dev/null | grep -q DOCKER; then
    log "removing leftover DOCKER iptables chains"
    remove_docker_chains
  fi
  if [ -n "$FORWARD_BEFORE" ] && [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$FORWARD_BEFORE" ]; then
    echo "$FORWARD_BEFORE" >/proc/sys/net/ipv4/ip_forward
  fi
  local r0=$(date +%s)
  rm -rf "$W"
  log "  work dir removed in $(($(date +%s) - r0)) s"
  log "total $(($(date +%s) - T0)) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

remove_docker_chains() {
  local table rule chain
  for table in filter nat; do
    # rules in built-in chains that jump to Docker's chains, then Docker's chains themselves
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*DOCKER' |
      while read -r rule; do eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null; done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null
    done
  done
}

# ---- 1. packages
step "packages (docker.io, docker-compose, mmdebstrap)"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v mmdebstrap >/dev/null; then
  # no service may start from the package scripts: the engine is started here, with its own settings
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends docker.io docker-compose mmdebstrap iptables >"$W/apt.log" 2>&1 ||
    { tail -n 30 "$W/apt.log" >&2; exit 1; }
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
# Debian's client, matching Debian's engine (another docker CLI on PATH may be newer)
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
export DOCKER
docker() { "$DOCKER" "$@"; }
step_done

# ---- 2. engine
step "Docker engine"
stop_engine() {
  local pid
  pid=$(cat "$W/dockerd.pid" 2>/dev/null || true)
  [ -n "$pid" ] || pid=${ENGINE_PID:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  # the engine's containerd and shims are its children; mounts of its overlay layers and netns
  local m
  for m in $(awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
}
if docker info >/dev/null 2>&1; then
  log "using the running engine ($(docker info --format '{{.ServerVersion}}'))"
else
  OWN_ENGINE=1
  mkdir -p "$W/engine"
  # The engine's layers (a few GB, written once, deleted at the end) go to a tmpfs when memory
  # allows: deleting them from this disk took minutes; a tmpfs goes with one umount.
  mem_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  if [ "${WD_DEPLOY_TMPFS:-auto}" != 0 ] && [ "${mem_kb:-0}" -ge $((12 * 1024 * 1024)) ]; then
    mount -t tmpfs -o size=10g,mode=0700 wd-deploy-engine "$W/engine" && log "engine storage on a tmpfs"
  fi
  export DOCKER_HOST=unix://$W/docker.sock
  start_engine() { # $1: storage driver
    dockerd --data-root "$W/engine/data" --exec-root "$W/engine/exec" --pidfile "$W/dockerd.pid" \
      --host "$DOCKER_HOST" --storage-driver "$1" \
      --iptables=false --ip-forward=false --bridge=none >"$W/dockerd.log" 2>&1 &
    ENGINE_PID=$!
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && return 0
      kill -0 "$ENGINE_PID" 2>/dev/null || return 1
      sleep 0.5
    done
    return 1
  }
  if ! start_engine overlay2; then
    log "overlay2 did not work, trying vfs"; tail -n 5 "$W/dockerd.log" >&2
    stop_engine
    start_engine vfs || { tail -n 30 "$W/dockerd.log" >&2; exit 1; }
  fi
  log "started a private engine: $(docker info --format '{{.ServerVersion}}, storage {{.Driver}}')"
fi
# `docker compose`: a real v2 plugin if there is one, else Debian's docker-compose v1 through a
# few-line CLI plugin (compose v2 is not packaged in bookworm)
if ! docker compose version >/dev/null 2>&1; then
  export DOCKER_CONFIG=$W/docker-config
  mkdir -p "$DOCKER_CONFIG/cli-plugins"
  cat >"$DOCKER_CONFIG/cli-plugins/docker-compose" <<'SH'
#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"Debian","Version":"1.29","ShortDescription":"docker-compose v1"}'
  exit 0
fi
[ "$1" = compose ] && shift
exec /usr/bin/docker-compose "$@"
SH
  chmod +x "$DOCKER_CONFIG/cli-plugins/docker-compose"
fi
log "compose: $(docker compose version --short 2>/dev/null || docker compose version | head -1)"
step_done

# ---- 3. images
step "stand-in images (test only: deploy/standins)"
while read -r line; do
  [ -n "$line" ] && BUILT_IMAGES+=("${line#stand-in }") && log "  built $line"
done < <(DOCKER=$DOCKER timeout 900 deploy/standins/build.sh "$W/standins")
step_done

step "the project's image ($WD_IMAGE) from Dockerfile"
b0=$(date +%s)
DOCKER_BUILDKIT=0 timeout 1200 "$DOCKER" build --network host -t "$WD_IMAGE" . >"$W/build.log" 2>&1 ||
  { tail -n 40 "$W/build.log" >&2; exit 1; }
BUILD_S=$(($(date +%s) - b0))
IMAGE_BYTES=$(docker image inspect -f '{{.Size}}' "$WD_IMAGE")
log "  image size $((IMAGE_BYTES / 1000000)) MB ($IMAGE_BYTES bytes), built in $BUILD_S s"
step_done

# ---- 4. compose up, checks
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
API_PORT=$(free_port)
rand() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
cat >"$WD_ENV_FILE" <<EOF
POSTGRES_PASSWORD=$(rand)
REDIS_PASSWORD=$(rand)
JWT_SECRET=$(rand)$(rand)
API_PORT=$API_PORT
LOG_LEVEL=info
DETECTOR_THREADS=1
CHUNK_SECONDS=1
QUEUE_LOCK_MS=4000
QUEUE_STALLED_MS=1000
TASK_BACKOFF_MS=500
ARGON2_MEMORY_KIB=4096
ARGON2_TIME_COST=1
EOF
compose_cmd=("$DOCKER" compose --env-file "$WD_ENV_FILE" -p "$PROJECT" -f "$ROOT/compose.yaml")

step "docker compose up (API, processor, 2 detectors, PostgreSQL, Redis)"
timeout 300 "${compose_cmd[@]}" up -d --no-build --scale detector=2 >"$W/up.log" 2>&1 ||
  { cat "$W/up.log" >&2; exit 1; }
healthy=0
for _ in $(seq 1 120); do
  if curl -fsS -m 2 "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[ "$healthy" = 1 ] || { log "the API did not become ready within 120 s"; exit 1; }
# every app container's own HEALTHCHECK (the image's) reports healthy
for _ in $(seq 1 90); do
  states=$(for id in $("${compose_cmd[@]}" ps -q api processor detector); do
    docker inspect -f '{{.State.Health.Status}}' "$id"; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  case "$states" in *starting* | *unhealthy*) sleep 1 ;; *) break ;; esac
done
log "  health: $states"
case "$states" in " 4 healthy;") ;; *) log "not every app container is healthy: $states"; exit 1 ;; esac
step_done

step "checks: register, upload, kill a busy detector, every frame once"
WD_API="http://127.0.0.1:$API_PORT" WD_COMPOSE=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${compose_cmd[@]}") \
  timeout 600 node --import tsx --test --test-reporter=spec test/deploy/compose.check.ts
step_done

step "docker compose down -v"
timeout 120 "${compose_cmd[@]}" down -v --remove-orphans -t 10 >/dev/null 2>&1
compose_cmd=()
step_done
log "image $((IMAGE_BYTES / 1000000)) MB, image build $BUILD_S s"
