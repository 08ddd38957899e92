#!/usr/bin/env bash
# Installs the two WebGPU implementations the project runs on when the machine
# lacks them:
#  - a Vulkan driver that Dawn (the `webgpu` package) accepts. On a box without
#    a GPU that is Mesa's lavapipe; Debian bookworm's own Mesa 22 is rejected by
#    Dawn ("shaderUniform*ArrayDynamicIndexing required"), so on bookworm the
#    driver comes from bookworm-backports (Mesa 25), on the mirror the machine's
#    own apt sources already use.
#  - Debian's Chromium, for the real-browser test (WebGPU on SwiftShader,
#    driven by puppeteer-core, which downloads no browser).
# Idempotent: installs nothing that is already there.
set -euo pipefail

have_icd() { ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && ldconfig -p | grep -q 'libvulkan.so.1'; }
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/[^0-9.].*//'; }
mesa_new_enough() { local v; v=$(mesa_version); [ -n "$v" ] && [ "${v%%.*}" -ge 23 ]; }
vulkan_ok() { have_icd && { ! command -v dpkg-query >/dev/null || mesa_new_enough || [ -z "$(mesa_version)" ]; }; }
chromium_ok() { command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; }

if vulkan_ok && chromium_ok; then
  echo "setup: a Vulkan driver ($(ls /usr/share/vulkan/icd.d/ | tr '\n' ' ')) and Chromium are installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  vulkan_ok || echo "setup: no Vulkan driver found. Install the Vulkan loader (libvulkan1) and Mesa >= 23 with lavapipe (mesa-vulkan-drivers), or a GPU driver with Vulkan support." >&2
  chromium_ok || echo "setup: no Chromium found (the browser test needs /usr/bin/chromium)." >&2
  exit 1
fi

sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo_="sudo"; else
    echo "setup: need root to run: apt-get install libvulkan1 mesa-vulkan-drivers chromium (mesa from bookworm-backports on Debian 12)" >&2; exit 1
  fi
fi

. /etc/os-release
vulkan_target=()
if ! vulkan_ok && [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
  list=/etc/apt/sources.list.d/handscan-backports.list
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
    # The mirror and keyring of the machine's own bookworm suite: one-line
    # (sources.list) or deb822 (*.sources) entries.
    mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
      | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ' || true)
    if [ -z "$mirror" ]; then
      echo "setup: found no Debian mirror in /etc/apt/sources.list*; add bookworm-backports to apt's sources, or install mesa-vulkan-drivers >= 23 by hand" >&2
      exit 1
    fi
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} bookworm-backports main" | $sudo_ tee "$list" >/dev/null
  fi
  vulkan_target=(-t bookworm-backports)
fi
$sudo_ apt-get update -qq
if ! vulkan_ok; then
  echo "setup: installing libvulkan1 and mesa-vulkan-drivers ${vulkan_target[*]:-}"
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${vulkan_target[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
  echo "setup: installed mesa-vulkan-drivers $(mesa_version)"
fi
if ! chromium_ok; then
  echo "setup: installing chromium"
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends chromium >/dev/null
  echo "setup: installed $(chromium --version 2>/dev/null || echo chromium)"
fi
