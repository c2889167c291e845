#!/usr/bin/env bash
# One command from a fresh machine to a real pipeline: set-up (data, Azurite), build, then `pipeline run` on the
# embedded quickstart spec (Fashion-MNIST, 2 rounds x 4 members). Extra arguments go to `pipeline run`,
# e.g. scripts/demo.sh examples/quickstart.json --output result.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
echo "==> Building the local engine (first build restores packages, ~1 GB)"
dotnet build functions/Soup.Cli -c Release -nologo -v quiet
exec dotnet functions/Soup.Cli/bin/Release/net10.0/pipeline.dll run "$@"
