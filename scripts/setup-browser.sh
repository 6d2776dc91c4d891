#!/usr/bin/env bash
# Installs what the storefront's browser tests drive: Debian's headless Chromium and the
# chromedriver built from the same source package, at one pinned version, so the driver always
# matches the browser. `make test` runs it; `make up` does not need it.
#   scripts/setup-browser.sh     install (apt-get; as root, else through sudo) unless present
# The pin is Debian 12 (bookworm)'s security update; when Debian replaces it, apt-get no longer
# offers it: take the new version from `apt-cache policy chromium` and change CHROMIUM_VERSION.
set -euo pipefail

CHROMIUM_VERSION="148.0.7778.167-1~deb12u1"
PACKAGES=(chromium chromium-driver)

installed() {
  [[ "$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true)" == "$CHROMIUM_VERSION" ]]
}

if installed chromium && installed chromium-driver; then
  echo "browser ready: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "the browser tests need Debian's chromium and chromium-driver $CHROMIUM_VERSION (apt-get); install them, or point CHROMIUM and CHROMEDRIVER at a matching pair" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "installing chromium needs root or sudo" >&2; exit 1; }
  sudo=(sudo)
fi

echo "installing ${PACKAGES[*]} $CHROMIUM_VERSION with apt-get"
"${sudo[@]}" apt-get update -qq
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]/%/=$CHROMIUM_VERSION}" >/dev/null; then
  echo "apt-get could not install chromium $CHROMIUM_VERSION; what this machine's sources offer:" >&2
  apt-cache policy chromium chromium-driver >&2 || true
  echo "if Debian has replaced the pinned version, set CHROMIUM_VERSION in $0 to the new one" >&2
  exit 1
fi
echo "browser ready: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
