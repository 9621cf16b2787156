#!/usr/bin/env bash
# The main job: install dependencies, build, and serve a demo volume over NBD in the
# foreground (Ctrl-C stops it and flushes the volume). Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

DATA_DIR=${FIREBREAK_DIR:-/var/lib/firebreak}
LISTEN=${FIREBREAK_LISTEN:-127.0.0.1:10809}
VOLUME=${FIREBREAK_VOLUME:-vm1=4GiB}
name=${VOLUME%%=*}
cat <<MSG

FireBreak is starting: volume '${name}' in ${DATA_DIR}, listening on ${LISTEN}.
Try it from another terminal:
  nbdinfo nbd://${LISTEN}/${name}
  qemu-io -f raw -c 'write -P 0xa5 0 1M' -c 'read -P 0xa5 0 1M' nbd://${LISTEN}/${name}
  qemu-img info -f raw nbd://${LISTEN}/${name}
Stop with Ctrl-C.

MSG
exec ./build/firebreak serve --listen "$LISTEN" --dir "$DATA_DIR" --volume "$VOLUME"
