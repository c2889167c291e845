#!/usr/bin/env bash
# Builds and lints every Bicep file under infra/ with the Bicep CLI, offline, and fails on ANY diagnostic: errors,
# warnings and informational ones alike (bicep lint exits 0 on warnings, and type mismatches are only warnings).
# The CLI comes from NuGet (Azure.Bicep.CommandLine.linux-x64, version in infra/tools/Bicep.props); set BICEP to use
# another binary (e.g. `az bicep` installs one in ~/.azure/bin/bicep).
set -euo pipefail
cd "$(dirname "$0")/.."

bicep="${BICEP:-}"
if [ -z "$bicep" ]; then
  dotnet restore infra/tools/Bicep.proj -nologo -v quiet >/dev/null
  version=$(sed -n 's:.*<BicepCliVersion>\(.*\)</BicepCliVersion>.*:\1:p' infra/tools/Bicep.props)
  packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
  bicep="${packages%/}/azure.bicep.commandline.linux-x64/${version}/tools/bicep"
fi
# The CLI is a single-file .NET app that extracts itself; give it a writable place even where HOME is not.
export DOTNET_BUNDLE_EXTRACT_BASE_DIR="${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-${TMPDIR:-/tmp}/bicep-extract}"
echo "==> Bicep: $("$bicep" --version)"

files=$(find infra -name '*.bicep' -not -path '*/bin/*' -not -path '*/obj/*' | sort)
if [ -z "$files" ]; then
  echo "no Bicep files found under infra/" >&2
  exit 1
fi
echo "$files" | sed 's/^/    /'

# Both commands print nothing for clean files; any output is a diagnostic (each names its file and line) or a failure,
# and fails the check.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
if ! output=$("$bicep" build --pattern 'infra/**/*.bicep' --outdir "$out" 2>&1) || [ -n "$output" ]; then
  printf 'bicep build:\n%s\n' "$output"
  status=1
fi
if ! output=$("$bicep" lint --pattern 'infra/**/*.bicep' 2>&1) || [ -n "$output" ]; then
  printf 'bicep lint:\n%s\n' "$output"
  status=1
fi
if [ $status -ne 0 ]; then
  echo "FAIL: the Bicep templates have diagnostics (any error, warning or info fails this check)" >&2
else
  echo "ok: every Bicep file builds and lints with no diagnostic"
fi
exit $status
