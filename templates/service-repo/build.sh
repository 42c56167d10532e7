#!/usr/bin/env bash
# The build contract (the same in every commit-to-cloud repository):
#   1. build the service, 2. run the unit tests LAST, 3. exit non-zero if either fails.
# No end-to-end tests here: those run against a deployed environment (e2e.sh, with SERVICE_URL set).
# No Docker here either: the image is built and pushed by separate Cloud Build steps.
# Runs from the repository root in Cloud Build (image node:20) and on a laptop: `bash build.sh`.
set -euo pipefail
cd "$(dirname "$0")"

echo "--- build"
# This starter service has no dependencies and no compile step; check that every file parses.
node --check server.js
if [ -f package.json ] && grep -q '"dependencies"' package.json; then npm ci --no-audit --no-fund; fi

echo "--- unit tests"
node --test test/
