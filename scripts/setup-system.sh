#!/bin/sh
# Install the Debian packages the project needs. Usage: setup-system.sh [run|test]
#   run:  what edge-server and edge-audio need at run time
#   test: plus what the test suite drives (Chromium for the kiosk tests, make, sox,
#         debootstrap and systemd-analyze for the appliance's converge test)
# Runs apt-get through sudo when not root. Skips apt when everything is already there.
set -eu
mode="${1:-run}"
packages="python3 python3-venv ca-certificates libportaudio2 libsndfile1 espeak-ng"
if [ "$mode" = test ]; then
    # A real PipeWire (with its ALSA/Pulse plugins and a session bus) for the audio node's tests
    packages="$packages chromium make sox pipewire wireplumber pipewire-pulse pipewire-alsa"
    packages="$packages pulseaudio-utils libasound2-plugins dbus flite"
    # The Pi-budget benchmark compares this machine's core with a Raspberry Pi 4's
    packages="$packages sysbench"
    # The appliance's converge test: a Debian 13 root made by debootstrap, systemd-analyze
    packages="$packages debootstrap systemd"
    # The arm64 converge: an arm64 root entered through qemu-user-static's binfmt handler
    packages="$packages qemu-user-static binfmt-support"
    # systemd-python (the `journal` extra) builds from source: libsystemd's headers, pkg-config
    # and a C compiler; python3-systemd is the Pis' copy, loaded by the journal tests
    packages="$packages libsystemd-dev pkg-config gcc libc6-dev python3-dev python3-systemd"
    # The conference hub's broker: the replication and hub tests start their own redis-server
    packages="$packages redis-server"
fi
missing=""
for pkg in $packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
    echo "setup: Debian packages already installed"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "setup: installing Debian packages:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
