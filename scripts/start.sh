#!/usr/bin/env bash
# The main job: install dependencies, build, and run a local replicated SAN in the
# foreground: a coordinator and two data nodes, volume vm1 mirrored on both. Ctrl-C stops it.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

DIR=${FIREBREAK_DIR:-/var/lib/firebreak/cluster}
NODES=${FIREBREAK_NODES:-2}
VOLUME=${FIREBREAK_VOLUME:-vm1=4GiB}
PORT=${FIREBREAK_BASE_PORT:-10809}
name=${VOLUME%%=*}
cat <<MSG

FireBreak is starting a ${NODES}-node replicated cluster in ${DIR}.
The primary (n1 on a new cluster; status names the current one) serves
nbd://127.0.0.1:${PORT}/${name} (n2: port $((PORT + 1))). From another terminal:
  nbdinfo nbd://127.0.0.1:${PORT}/${name}
  qemu-io -f raw -c 'write -P 0xa5 0 1M' -c 'read -P 0xa5 0 1M' nbd://127.0.0.1:${PORT}/${name}
  ./build/firebreak status --config ${DIR}/cluster.toml
Kill the primary (kill -9 of the 'serve ... --node n1' process) and n2 takes over within a
second at nbd://127.0.0.1:$((PORT + 1))/${name}. Stop everything with Ctrl-C.

MSG
exec ./build/firebreak up --dir "$DIR" --nodes "$NODES" --volume "$VOLUME" --base-port "$PORT"
