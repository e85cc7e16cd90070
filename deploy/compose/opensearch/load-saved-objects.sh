#!/bin/sh
# One-shot loader of the dashboards (compose service opensearch-setup):
# imports every $SAVED_OBJECTS_DIR/saved-objects/*.ndjson (deploy/opensearch/)
# into OpenSearch Dashboards, overwriting objects of the same id. The index
# templates are not loaded here: each pointsbook instance installs them when
# it starts (internal/logship/templates).
#
# The import API answers 200 even when objects fail (a broken reference, a
# bad visState), with "success":false and the errors in the body, so the body
# is checked as well as the status.
set -eu

dir="${SAVED_OBJECTS_DIR:-/opensearch}"
osd="${DASHBOARDS_URL:-http://opensearch-dashboards:5601}"

loaded=0
for f in "$dir"/saved-objects/*.ndjson; do
  [ -e "$f" ] || continue
  echo "saved objects $(basename "$f")"
  answer=$(curl -fsS -X POST "$osd/api/saved_objects/_import?overwrite=true" \
    -H 'osd-xsrf: true' --form "file=@$f")
  echo "$answer"
  case "$answer" in
    *'"success":true'* | *'"success": true'*) ;;
    *) echo "import of $f failed" >&2; exit 1 ;;
  esac
  loaded=$((loaded + 1))
done

if [ "$loaded" -eq 0 ]; then
  echo "no saved objects in $dir/saved-objects" >&2
  exit 1
fi
