#!/usr/bin/env bash
# One command that runs every test: set-up (Azurite, PyTorch for the compatibility tests, Chromium for the report
# tests, Debian's fortunes for the text corpus test; the tests make their own tiny datasets), build, test.
set -euo pipefail
cd "$(dirname "$0")/.."
# A fresh Azurite for this run (unless one already listens, e.g. a developer's): its data goes to a temporary folder,
# and the processes and the folder go when the run ends, however it ends.
if ! (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then
  AZURITE_LOCATION="$(mktemp -d "${TMPDIR:-/tmp}/soup-azurite-XXXXXX")"
  export AZURITE_LOCATION
  trap 'if [ -f "$AZURITE_LOCATION/azurite.pids" ]; then kill $(cat "$AZURITE_LOCATION/azurite.pids") 2>/dev/null || true; fi; sleep 1; rm -rf "$AZURITE_LOCATION"' EXIT
fi
bash scripts/setup.sh azurite
bash scripts/setup.sh pytorch
bash scripts/setup.sh chromium
bash scripts/setup.sh fortunes
dotnet build Pipeline.sln -c Release -nologo -v quiet
status=0
for project in tests/*/; do
  echo "==> dotnet test --project ${project%/}"
  dotnet test --project "${project%/}" -c Release --no-build || status=1
done
exit $status
