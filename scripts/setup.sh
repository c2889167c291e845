#!/usr/bin/env bash
# Shared set-up for demo.sh and test.sh: Fashion-MNIST (Debian package), PyTorch and Chromium for the tests (Debian
# packages), Azurite (npm, from the lock file), started
# on 127.0.0.1:10000-10002 unless something already listens there. Idempotent: a second run does nothing new.
# English text: Debian's fortunes package (/usr/share/games/fortunes, ~15,000 short texts), the WARM benchmark's corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_fashion_mnist() {
  if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || [ -n "${DataRoot:-}" ]; then return; fi
  echo "==> Installing Fashion-MNIST (apt-get install dataset-fashion-mnist)"
  sudo_if_needed apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 \
    || { sudo_if_needed apt-get update >/dev/null && sudo_if_needed apt-get install -y dataset-fashion-mnist >/dev/null; }
}

# English text for the language-model benchmark and its tests (Debian's fortunes: one file per topic, texts separated
# by lines holding %, each file beside its .dat index). Checked by a file of its own: fortunes-min, which the fortune
# program pulls in, fills the same folder with three files only.
ensure_fortunes() {
  if [ -f /usr/share/games/fortunes/art ]; then return; fi
  echo "==> Installing English text (apt-get install fortunes)"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y fortunes >/dev/null 2>&1 \
    || { sudo_if_needed apt-get update >/dev/null && sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y fortunes >/dev/null; }
}

# PyTorch (Debian's python3-torch and python3-torchvision): the tests check that our checkpoints load in PyTorch with
# torchvision's parameter names and give the same outputs. Only the tests need it.
ensure_pytorch() {
  if /usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1; then return; fi
  echo "==> Installing PyTorch for the compatibility tests (apt-get install python3-torch python3-torchvision)"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-torchvision >/dev/null 2>&1 \
    || { sudo_if_needed apt-get update >/dev/null && sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-torchvision >/dev/null; }
}

# Chromium (Debian's chromium): the report tests open real reports in headless Chromium and check that the plots and
# tables render. Only the tests need it.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  echo "==> Installing Chromium for the report tests (apt-get install chromium)"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1 \
    || { sudo_if_needed apt-get update >/dev/null && sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }
}

port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
azurite_listening() { port_listening 10000 && port_listening 10001 && port_listening 10002; }

# Blob, queue and table run as three processes (azurite-blob, azurite-queue, azurite-table), as they are three services
# on Azure: one Node process serves every request of all three on one thread, and at a round of 1,024 members that
# thread, not the pipeline, set the pace (`pipeline bench rounds`: README, Benchmarks).
ensure_azurite() {
  # Installed even when another Azurite already listens: tests start private ones from node_modules.
  if [ ! -x node_modules/.bin/azurite ]; then
    echo "==> Installing Azurite (npm ci)"
    npm ci --no-audit --no-fund >/dev/null
  fi
  if azurite_listening; then echo "==> Azurite already listening on 127.0.0.1:10000-10002"; return; fi
  # Data in AZURITE_LOCATION (default .azurite/): scripts/test.sh gives a fresh temporary folder per run, which it
  # removes afterwards, so test runs never pile up gigabytes of containers.
  local location="${AZURITE_LOCATION:-.azurite}"
  echo "==> Starting Azurite: blob, queue and table services (data in $location/, logs in $location/*.log)"
  mkdir -p "$location"
  local service port
  for service in blob:10000 queue:10001 table:10002; do
    port="${service#*:}"; service="${service%%:*}"
    if port_listening "$port"; then continue; fi
    nohup "node_modules/.bin/azurite-$service" --silent --location "$location" "--${service}Host" 127.0.0.1 \
      "--${service}Port" "$port" --skipApiVersionCheck --loose > "$location/azurite-$service.log" 2>&1 &
    echo $! >> "$location/azurite.pids"
  done
  for _ in $(seq 1 50); do azurite_listening && return; sleep 0.2; done
  echo "Azurite did not start; see $location/azurite-*.log" >&2
  exit 1
}

case "${1:-all}" in
  data) ensure_fashion_mnist ;;
  fortunes) ensure_fortunes ;;
  azurite) ensure_azurite ;;
  pytorch) ensure_pytorch ;;
  chromium) ensure_chromium ;;
  all) ensure_fashion_mnist; ensure_fortunes; ensure_azurite ;;
esac
