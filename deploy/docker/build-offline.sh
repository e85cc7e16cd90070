#!/usr/bin/env bash
# Builds the Pointsbook image FROM scratch with buildah, offline: no daemon,
# no registry, no base image. The same final stage as the Dockerfile, minus
# distroless: the locally built static binary, the machine's CA certificates,
# a passwd/group naming the non-root user, and an empty /data. Then runs the
# image's binary (`pointsbook config`: start-up loads Asia/Seoul, so this
# proves the embedded time-zone data) and, unless --no-serve, serves it and
# runs the HEALTHCHECK command inside the container.
#
#   deploy/docker/build-offline.sh [--no-serve]
#
# Environment: BUILDAH_ROOT (image store; default: a temporary directory that
# is removed afterwards), PB_IMAGE (tag, default pointsbook:offline),
# PB_IMAGE_ARCHIVE (write an OCI archive there, e.g. to `podman load` it).
# Needs root (or a rootless buildah setup) and Debian's buildah.
set -euo pipefail
cd "$(dirname "$0")/../.."

serve=true
[ "${1:-}" = "--no-serve" ] && serve=false
image="${PB_IMAGE:-pointsbook:offline}"
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }

work=$(mktemp -d)
root="${BUILDAH_ROOT:-$work/storage}"
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then bh rm "$ctr" >/dev/null 2>&1 || true; fi
  if [ -z "${BUILDAH_ROOT:-}" ]; then bh rmi --all --force >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
# vfs: works inside containers where overlay mounts are not allowed.
# Docker format: the OCI format has no HEALTHCHECK.
export BUILDAH_FORMAT=docker
bh() { buildah --root "$root" --runroot "$work/run" --storage-driver vfs "$@"; }
trap cleanup EXIT

echo "== go build (as the Dockerfile's build stage)"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$work/pointsbook" ./cmd/pointsbook
mkdir -p "$work/data" "$work/etc"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' >"$work/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/etc/group"

echo "== buildah: FROM scratch"
ctr=$(bh from --quiet scratch)
bh copy --quiet "$ctr" "$work/pointsbook" /pointsbook
bh copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
bh copy --quiet "$ctr" "$work/etc/passwd" "$work/etc/group" /etc/
bh copy --quiet --chown 65532:65532 "$ctr" "$work/data" /data
# HEALTHCHECK is kept by the docker format chosen at commit.
bh config \
  --user 65532:65532 --workingdir /data \
  --env PB_HTTP_ADDR=:8080 --env PB_DATA_DIR=/data \
  --port 8080 --volume /data \
  --entrypoint '["/pointsbook"]' --cmd serve --stop-signal SIGTERM \
  --healthcheck 'CMD /pointsbook healthcheck' \
  --healthcheck-interval 10s --healthcheck-timeout 5s --healthcheck-start-period 20s --healthcheck-retries 3 \
  --label org.opencontainers.image.title=pointsbook \
  --label org.opencontainers.image.source=https://github.com/pointsbook/pointsbook \
  --label org.opencontainers.image.version="$(git describe --tags --always 2>/dev/null || echo dev)" \
  --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --label org.opencontainers.image.created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --label org.opencontainers.image.base.name=scratch \
  "$ctr"

echo "== run in the image: pointsbook config (no /usr/share/zoneinfo in there)"
# chroot isolation: no extra namespaces needed, so it also works inside an
# unprivileged CI container.
out=$(bh run --isolation chroot "$ctr" -- /pointsbook config 2>&1) || { echo "$out"; echo "pointsbook config failed in the image" >&2; exit 1; }
echo "$out" | head -n 5

if $serve; then
  echo "== run in the image: serve, then the HEALTHCHECK command"
  port=$(( 20000 + RANDOM % 20000 ))
  # Own process group: buildah does not pass SIGTERM on to the process it
  # runs with chroot isolation, so the whole group is ended below.
  setsid buildah --root "$root" --runroot "$work/run" --storage-driver vfs \
    run --isolation chroot --env PB_HTTP_ADDR="127.0.0.1:$port" --env PB_FEED=none "$ctr" -- /pointsbook serve >"$work/serve.log" 2>&1 &
  server=$!
  ok=false
  for _ in $(seq 1 100); do
    if bh run --isolation chroot --env PB_HTTP_ADDR=127.0.0.1:$port "$ctr" -- /pointsbook healthcheck >/dev/null 2>&1; then ok=true; break; fi
    sleep 0.2
  done
  kill -TERM -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  $ok || { echo "healthcheck never passed:"; cat "$work/serve.log"; exit 1; }
  echo "healthcheck passed"
fi

bh commit --quiet --format docker "$ctr" "$image" >/dev/null
bh images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
health=$(bh inspect --type image --format '{{.Docker.Config.Healthcheck.Test}}' "$image")
echo "image HEALTHCHECK: $health"
[ "$health" = "[CMD /pointsbook healthcheck]" ] || { echo "HEALTHCHECK missing from the image" >&2; exit 1; }
if [ -n "${PB_IMAGE_ARCHIVE:-}" ]; then
  bh push "$image" "oci-archive:$PB_IMAGE_ARCHIVE"
  echo "wrote $PB_IMAGE_ARCHIVE"
fi
