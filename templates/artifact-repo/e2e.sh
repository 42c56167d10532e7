#!/usr/bin/env bash
# Smoke test against a running environment: SERVICE_URL is set by the pipeline (after every staging deploy, after
# every production apply, and on a schedule). Exit non-zero when the service is not healthy.
set -euo pipefail
: "${SERVICE_URL:?set SERVICE_URL, e.g. http://localhost:8080}"
if command -v curl >/dev/null 2>&1; then
  curl -fsS --max-time 10 "$SERVICE_URL/health"
else
  node -e '
    fetch(process.argv[1] + "/health", { signal: AbortSignal.timeout(10000) })
      .then(async (r) => { console.log(await r.text()); process.exit(r.ok ? 0 : 1); })
      .catch((e) => { console.error(e.message); process.exit(1); });
  ' "$SERVICE_URL"
fi
echo
