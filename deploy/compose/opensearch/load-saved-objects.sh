#!/bin/sh
# One-shot loader of the OpenSearch side of the local stack (compose service
# opensearch-setup). Reads from $SAVED_OBJECTS_DIR (deploy/opensearch/):
#   index-templates/*.json    PUT to /_index_template/<file name without .json>
#   saved-objects/*.ndjson    imported into Dashboards (overwrite=true)
# Missing directories are reported and skipped, so the stack still starts
# before the dashboards are written.
set -eu

dir="${SAVED_OBJECTS_DIR:-/opensearch}"
os="${OPENSEARCH_URL:-http://opensearch:9200}"
osd="${DASHBOARDS_URL:-http://opensearch-dashboards:5601}"

loaded=0
if [ -d "$dir/index-templates" ]; then
  for f in "$dir"/index-templates/*.json; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .json)
    echo "index template $name"
    curl -fsS -X PUT "$os/_index_template/$name" -H 'Content-Type: application/json' --data-binary "@$f"
    echo
    loaded=$((loaded + 1))
  done
fi

if [ -d "$dir/saved-objects" ]; then
  for f in "$dir"/saved-objects/*.ndjson; do
    [ -e "$f" ] || continue
    echo "saved objects $(basename "$f")"
    curl -fsS -X POST "$osd/api/saved_objects/_import?overwrite=true" \
      -H 'osd-xsrf: true' --form "file=@$f"
    echo
    loaded=$((loaded + 1))
  done
fi

if [ "$loaded" -eq 0 ]; then
  echo "nothing to load: no $dir/index-templates/*.json or $dir/saved-objects/*.ndjson"
fi
