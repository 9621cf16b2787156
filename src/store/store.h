// The store part: where a volume's bytes and metadata live on one node. Everything above it
// (NBD dispatch, replication, resync, backup) sees only the Volume interface in volume.h.
//
// What the store is for:
// - Volumes as sparse files: DIR/volumes/NAME.img holds the bytes (holes read as zeros, trim
//   punches holes), NAME.meta holds a checksummed superblock (docs/on-disk-layout.md).
// - Layers that stack like nbdkit filters: FileVolume holds the bytes, TrackingVolume records
//   which regions changed, and a copy-on-write snapshot layer can slot in between later
//   without anything above noticing.
// - Change tracking: a ChangeMap per volume marks every region before a write reaches the
//   image, so resync after a failover and incremental backup copy only what changed.
// - Room for replication: the superblock already carries the promised epoch (fencing token)
//   and the data generation that FAULTS.md's correctness core needs.
// All file I/O goes through env::FileSystem / env::File, so the simulator runs this code.
#pragma once

#include "store/change_map.h"
#include "store/file_volume.h"
#include "store/superblock.h"
#include "store/tracking_volume.h"
#include "store/volume.h"
#include "store/volume_set.h"
