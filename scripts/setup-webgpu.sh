#!/usr/bin/env bash
# Makes sure this machine has a Vulkan driver that Dawn (the `webgpu` package) accepts.
# On a box without a GPU that is Mesa's lavapipe; Debian bookworm's own Mesa 22 is
# rejected by Dawn ("shaderUniform*ArrayDynamicIndexing required"), so on bookworm the
# driver comes from bookworm-backports (Mesa 25). Idempotent: does nothing when a
# usable driver is already installed.
set -euo pipefail

have_icd() { ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && ldconfig -p | grep -q 'libvulkan.so.1'; }
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/[^0-9.].*//'; }
mesa_new_enough() { local v; v=$(mesa_version); [ -n "$v" ] && [ "${v%%.*}" -ge 23 ]; }

if have_icd && { ! command -v dpkg-query >/dev/null || mesa_new_enough || [ -z "$(mesa_version)" ]; }; then
  echo "setup: a Vulkan driver is installed ($(ls /usr/share/vulkan/icd.d/ | tr '\n' ' '))"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup: no Vulkan driver found. Install the Vulkan loader (libvulkan1) and Mesa >= 23 with lavapipe (mesa-vulkan-drivers), or a GPU driver with Vulkan support." >&2
  exit 1
fi

sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo_="sudo"; else
    echo "setup: need root to run: apt-get install libvulkan1 mesa-vulkan-drivers (from bookworm-backports on Debian 12)" >&2; exit 1
  fi
fi

. /etc/os-release
target=()
if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
  list=/etc/apt/sources.list.d/handscan-backports.list
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
    # Same mirror and keyring as the main suite.
    mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
      | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} bookworm-backports main" | $sudo_ tee "$list" >/dev/null
  fi
  target=(-t bookworm-backports)
fi
echo "setup: installing libvulkan1 and mesa-vulkan-drivers ${target[*]:-}"
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${target[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
echo "setup: installed mesa-vulkan-drivers $(mesa_version)"
