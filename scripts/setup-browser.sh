#!/usr/bin/env bash
# Installs what the storefront's browser tests drive: Debian's headless Chromium and the
# chromedriver built from the same source package, at one pinned version, so the driver always
# matches the browser. `make test` runs it; `make up` does not need it.
#   scripts/setup-browser.sh     install (apt-get; as root, else through sudo) unless present
# Debian 12 (bookworm) offers Chromium at two versions at a time: the point release's (suite
# bookworm, replaced at the next point release) and the latest security update's (suite
# bookworm-security, replaced by the next security update, every few weeks). Debian's mirrors
# keep neither once it is replaced. So two versions are pinned, in order: the first that
# apt-get offers is installed. When Debian has replaced both, apt-get offers neither: take the
# new ones from `apt-cache policy chromium` and change CHROMIUM_VERSIONS.
set -euo pipefail

CHROMIUM_VERSIONS=(
  "150.0.7871.100-1~deb12u1" # bookworm (12.x point release)
  "156.0.8078.108-1~deb12u1" # bookworm-security
)
# chromium-common too: chromium depends on it at exactly its own version, which apt-get does not
# pick by itself when that is not the newest on offer.
PACKAGES=(chromium chromium-common chromium-driver)

# Whether the browser and the driver are installed, both at one of the pinned versions.
pinned_pair_installed() {
  local browser driver
  browser="$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)"
  driver="$(dpkg-query -W -f='${Version}' chromium-driver 2>/dev/null || true)"
  for version in "${CHROMIUM_VERSIONS[@]}"; do
    [[ "$browser" == "$version" && "$driver" == "$version" ]] && return 0
  done
  return 1
}

if pinned_pair_installed; then
  echo "browser ready: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "the browser tests need Debian's chromium and chromium-driver at one of ${CHROMIUM_VERSIONS[*]} (apt-get); install them, or point CHROMIUM and CHROMEDRIVER at a matching pair" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "installing chromium needs root or sudo" >&2; exit 1; }
  sudo=(sudo)
fi

"${sudo[@]}" apt-get update -qq
for version in "${CHROMIUM_VERSIONS[@]}"; do
  # Every package at this version in the sources, or the next pin.
  offered=1
  for package in "${PACKAGES[@]}"; do
    [[ -n "$(apt-cache madison "$package" | awk -v v="$version" '$3 == v')" ]] || offered=0
  done
  if [[ $offered == 1 ]]; then
    echo "installing ${PACKAGES[*]} $version with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      --allow-downgrades "${PACKAGES[@]/%/=$version}" >/dev/null
    echo "browser ready: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
    exit 0
  fi
done
echo "apt-get offers chromium at none of the pinned versions (${CHROMIUM_VERSIONS[*]}); what this machine's sources offer:" >&2
apt-cache policy chromium chromium-driver >&2 || true
echo "Debian has replaced the pinned versions: set CHROMIUM_VERSIONS in $0 to the ones above" >&2
exit 1
