#!/usr/bin/env bash
# Installs every Debian package FireBreak needs to build, test and benchmark, then builds it.
# Idempotent: safe to run again. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build clang libclang-rt-14-dev pkg-config git
  # libraries (header-only ones included)
  libasio-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  liburing-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev
  # real NBD clients and peers for interop tests and benchmarks
  qemu-utils nbdkit libnbd-bin python3-libnbd python3 fio fuse3 e2fsprogs
  # process and network tooling used by tests
  procps psmisc iproute2 util-linux etcd-server etcd-client
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_TYPE=${BUILD_TYPE:-Release}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE"
cmake --build build -j"$(nproc)"
