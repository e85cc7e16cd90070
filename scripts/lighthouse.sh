#!/usr/bin/env bash
# Lighthouse (mobile preset) on the player pages of a fresh Pointsbook:
# the main page, a match page and My page (signed in). Prints the
# performance, accessibility and best-practices scores of each page and
# keeps the JSON reports in test-artifacts/lighthouse/. Not part of CI.
#
# Needs Go, Node (>= 18.16; Lighthouse 13 needs a newer Node than Debian
# 12's, hence 12.2.3), npm, curl and Chromium (CHROME_PATH, default
# /usr/bin/chromium). Lighthouse comes from the npm registry into a
# temporary prefix; the server is built from this checkout and runs with a
# temporary data directory and the simulator on a loopback port the kernel
# picks, and is stopped at the end.
#
#   scripts/lighthouse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LIGHTHOUSE_VERSION=12.2.3
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
# The headless flags of the browser tests (internal/browsertest);
# chrome-launcher gives every run a fresh profile directory.
CHROME_FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"

for tool in go node npm curl; do
  command -v "$tool" >/dev/null || { echo "lighthouse.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$CHROME_PATH" ] || { echo "lighthouse.sh: no browser at CHROME_PATH=$CHROME_PATH (Debian: apt-get install --no-install-recommends chromium)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
# shellcheck disable=SC2317 # shellcheck 0.9 does not see that the EXIT trap calls it
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "installing lighthouse@$LIGHTHOUSE_VERSION"
npm install --prefix "$work/npm" --no-audit --no-fund --loglevel=error "lighthouse@$LIGHTHOUSE_VERSION" >/dev/null
lighthouse="$work/npm/node_modules/.bin/lighthouse"

echo "building and starting the server"
go build -o "$work/pointsbook" ./cmd/pointsbook
PB_HTTP_ADDR=127.0.0.1:0 PB_DATA_DIR="$work/data" PB_FEED=simulator \
  "$work/pointsbook" >"$work/server.log" 2>&1 &
server_pid=$!

# The server logs the address it listens on, then answers /readyz with 200
# once the simulator's first import is done.
base=""
for _ in $(seq 1 600); do
  if [ -z "$base" ]; then
    addr=$(sed -n 's/.*"message":"listening","addr":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n 1)
    [ -n "$addr" ] && base="http://$addr"
  fi
  if [ -n "$base" ] && curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { echo "the server exited:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null "$base/readyz" || { echo "the server is not ready after 120 s:" >&2; tail -n 20 "$work/server.log" >&2; exit 1; }
echo "server ready at $base"

# json EXPR: evaluate EXPR on the JSON document read from stdin (as j).
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }

match_id=$(curl -fsS "$base/api/v1/matches" | json 'j.items.length ? j.items[0].id : ""')
[ -n "$match_id" ] || { echo "no match in /api/v1/matches" >&2; exit 1; }

user="lh$(date +%s)"
password="lighthouse-password-1"
curl -fsS -o /dev/null "$base/api/v1/auth/signup" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$password\",\"email\":\"$user@example.com\",\"nickname\":\"$user\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$password\"}" | json 'j.token')
[ -n "$token" ] || { echo "no session token" >&2; exit 1; }

out="test-artifacts/lighthouse"
mkdir -p "$out"
printf '%-8s %-40s %11s %13s %14s\n' page url performance accessibility best-practices
failed=0
for entry in "main|/|" "match|/matches/$match_id|" "me|/me|signed-in"; do
  IFS='|' read -r name path signed <<<"$entry"
  args=()
  if [ -n "$signed" ]; then
    args+=(--extra-headers "{\"Cookie\":\"pb_session=$token\"}")
  fi
  report="$out/$name.json"
  status=0
  "$lighthouse" "$base$path" "${args[@]}" \
    --only-categories=performance,accessibility,best-practices \
    --chrome-flags="$CHROME_FLAGS" \
    --output=json --output-path="$report" --quiet || status=$?
  # The report repeats the extra headers: keep the session token out of it.
  if [ -f "$report" ]; then
    sed -i "s/$token/redacted/g" "$report"
  fi
  if [ "$status" -ne 0 ]; then
    echo "lighthouse failed on $path" >&2
    failed=1
    continue
  fi
  json '[j.finalDisplayedUrl, ...["performance","accessibility","best-practices"].map(c => j.categories[c].score === null ? "n/a" : Math.round(j.categories[c].score * 100))].join("\t")' <"$report" |
    { IFS=$'\t' read -r url perf a11y bp; printf '%-8s %-40s %11s %13s %14s\n' "$name" "${url#"$base"}" "$perf" "$a11y" "$bp"; }
done
echo "reports: $out/{main,match,me}.json"
exit "$failed"
