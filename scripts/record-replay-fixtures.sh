#!/usr/bin/env bash
# Re-records the orchestration histories that tests/Soup.Orchestration.Tests replays offline (Replay/Fixtures/*.json):
# runs a pipeline on the local engine (Azure Storage provider on Azurite) up to an in-flight point (round 1 waiting for
# 2 of its 3 members), reads the pipeline's and the round's histories, checks that every episode replays on the current
# code, and writes them over the fixtures. Run it only when a breaking orchestration change has been versioned (see
# docs/ARCHITECTURE.md, "Changing orchestrations"): a fixture that stops replaying otherwise is the test doing its job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh azurite
dotnet build tests/Soup.EndToEnd.Tests -c Release -nologo -v quiet
SOUP_RECORD_REPLAY_FIXTURES=1 dotnet test --project tests/Soup.EndToEnd.Tests -c Release --no-build \
  --filter-class "Soup.EndToEnd.Tests.ReplayFixtureRecorder"
dotnet build tests/Soup.Orchestration.Tests -c Release -nologo -v quiet
dotnet test --project tests/Soup.Orchestration.Tests -c Release --no-build --filter-class "Soup.Orchestration.Tests.Replay.ReplayTests"
git status --short tests/Soup.Orchestration.Tests/Replay/Fixtures
