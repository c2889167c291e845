#!/usr/bin/env bash
# One command that runs every test: set-up (Azurite, PyTorch for the compatibility tests, Chromium for the report
# tests, Debian's fortunes for the text corpus test; the tests make their own tiny datasets), build, test.
set -euo pipefail
cd "$(dirname "$0")/.."
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
