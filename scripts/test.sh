#!/usr/bin/env bash
# Every test: install dependencies, build (the server with g++, the fuzz targets with clang),
# then run the whole ctest suite (unit, fuzz, interop) and print ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# libFuzzer targets need clang; ctest in build/ runs them from build-fuzz/ (tests/fuzz).
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)"

cd build
ctest --output-on-failure --timeout 600 -j"${FB_TEST_JOBS:-2}" "$@"
