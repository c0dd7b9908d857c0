#!/usr/bin/env bash
# setup.sh — everything wlvs, its tests and its benchmarks need on a bare Debian machine with
# Node >= 20: the Debian packages (as root), then the npm packages and the native addon.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2/ethtool/iputils-ping: namespaces and links; curl, iperf3: end-to-end traffic;
# python3-scapy: independent packet builder for the oracle; nftables, haproxy, nginx-light, wrk,
# libnginx-mod-stream, sockperf, netsniff-ng: the benchmark peers and load generators;
# keepalived: the VRRP peer of the interoperability tests (run VRRP-only in a namespace);
# chromium: the dashboard's browser test (headless, driven by puppeteer-core, never downloaded);
# systemd: systemd-analyze verifies packaging/wlvs.service;
# bird2: the BGP speaker of a cluster member (director.cluster) and of the lab's router;
# gcc: the native addon (node-gyp) and bench:core's C reference (bench/core/ref/nat_ref.c)
PACKAGES=(gcc iproute2 iputils-ping ethtool curl iperf3 procps python3-scapy
  nftables haproxy nginx-light libnginx-mod-stream wrk sockperf netsniff-ng keepalived chromium systemd bird2)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-gyp must build against the headers that ship with Node (no download on this network)
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
npm ci --no-audit --no-fund
