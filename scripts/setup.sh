#!/usr/bin/env bash
# Installs everything SmartFin needs on a fresh Debian machine, and nothing twice:
# Debian packages (browser, fonts, PostgreSQL, JDK, Maven), the Python virtualenv with pinned
# versions (constraints.txt), and the engine build. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(chromium chromium-headless-shell fonts-noto-cjk fonts-wqy-zenhei postgresql openjdk-17-jdk-headless maven
                 haproxy libgl1)
# opencv-python (the OCR's image library) links libGL and GLib; GLib's package was renamed in Debian 13
debian_release=$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID%%.*}")
if [ "${debian_release:-13}" -ge 13 ] 2>/dev/null; then DEBIAN_PACKAGES+=(libglib2.0-0t64); else DEBIAN_PACKAGES+=(libglib2.0-0); fi
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtualenv (.venv)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages (pinned by constraints.txt)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

echo "setup: building the engine if needed"
.venv/bin/python -c "from smartfin.camunda.launcher import build_engine; build_engine(progress=print)"
echo "setup: done"
