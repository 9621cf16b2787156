// VolumeSet: the volumes of one data directory (DIR/volumes/), opened or created from specs.
// Each volume is a TrackingVolume over a FileVolume with its own ChangeMap. Creating writes
// the image before the superblock, so a superblock always has an image behind it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "env/file.h"
#include "store/change_map.h"
#include "store/superblock.h"
#include "store/volume.h"

namespace fb::store {

// What the configuration asks for. A volume is created when it has no superblock yet and a
// size is given; an existing volume must match the size if one is given (never resized).
struct VolumeSpec {
  std::string name;
  std::optional<uint64_t> size_bytes;
  bool read_only = false;  // serve read-only now; the superblock flag makes it permanent
};

// Supplies the 16 bytes of a new volume's uuid; called once per created volume, in spec order.
using UuidSource = std::function<Uuid()>;

inline constexpr size_t kVolumeNameMaxBytes = 64;
inline constexpr std::string_view kVolumesDir = "volumes";

// 1..64 characters of [A-Za-z0-9._-], not starting with '.' (no hidden or relative names).
Status ValidateVolumeName(std::string_view name);
// > 0, a multiple of kVolumeSizeAlignBytes (512), at most kVolumeSizeMaxBytes (2^60).
Status ValidateVolumeSize(uint64_t size_bytes);
// DIR/volumes/NAME.img and DIR/volumes/NAME.meta.
std::string VolumeImagePath(std::string_view dir, std::string_view name);
std::string VolumeMetaPath(std::string_view dir, std::string_view name);

class VolumeSet {
 public:
  // Validates every spec (names, sizes, duplicates) before touching the disk, then opens or
  // creates each volume in order. Errors: kInvalidArgument (bad spec), kNotFound (no such
  // volume and no size), kFailedPrecondition (size differs from the volume's), kDataLoss
  // (corrupt superblock, image missing or of the wrong size), or the file system's error.
  static Result<std::unique_ptr<VolumeSet>> Open(env::FileSystem& fs, const std::string& dir,
                                                 std::vector<VolumeSpec> specs,
                                                 const UuidSource& uuid_source);
  // Names of the volumes that have a superblock in DIR/volumes, sorted.
  static Result<std::vector<std::string>> ListExisting(env::FileSystem& fs, const std::string& dir);

  ~VolumeSet();
  VolumeSet(const VolumeSet&) = delete;
  VolumeSet& operator=(const VolumeSet&) = delete;

  // Every volume, in spec order; pointers stay valid for the life of the set.
  const std::vector<Volume*>& volumes() const { return volumes_; }
  size_t size() const { return volumes_.size(); }
  // nullptr when there is no such volume. Lookups are thread-safe (the set never changes).
  Volume* Find(std::string_view name) const;
  ChangeMap* FindChangeMap(std::string_view name) const;
  const Superblock* FindSuperblock(std::string_view name) const;

 private:
  struct Entry;
  VolumeSet();
  const Entry* FindEntry(std::string_view name) const;

  std::vector<std::unique_ptr<Entry>> entries_;  // spec order
  std::vector<Volume*> volumes_;                 // entries_[i]'s top layer
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace fb::store
