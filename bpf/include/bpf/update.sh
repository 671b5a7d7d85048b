#!/usr/bin/env bash
# Refreshes the vendored libbpf headers in this directory: the ones memsight's
# BPF programs include (<bpf/bpf_helpers.h> and what it includes), copied
# unchanged from Debian's libbpf-dev at the pinned version (bookworm's, whose
# clang-14 compiles the objects). Run it as root on Debian, then make generate:
# the objects must come out the same or the change gets its own commit.
set -euo pipefail

LIBBPF_DEB_VERSION=1:1.1.2-0+deb12u1 # libbpf 1.1.2
HEADERS=(bpf_helpers.h bpf_helper_defs.h)

cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "libbpf-dev=$LIBBPF_DEB_VERSION" && dpkg-deb -x libbpf-dev_*.deb root)
for h in "${HEADERS[@]}"; do
	cp "$tmp/root/usr/include/bpf/$h" "$h"
done
echo "vendored libbpf-dev $LIBBPF_DEB_VERSION: ${HEADERS[*]}"
