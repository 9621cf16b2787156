// VolumeSet: spec validation, create-or-open of each volume, and lookup. The creation order
// (image, sync, then superblock written durably) is what makes reopen after a crash safe.
#include "store/volume_set.h"

#include <algorithm>
#include <set>
#include <utility>

#include "base/assert.h"
#include "base/units.h"
#include "store/file_volume.h"
#include "store/tracking_volume.h"

namespace fb::store {
namespace {

constexpr std::string_view kImageSuffix = ".img";
constexpr std::string_view kMetaSuffix = ".meta";

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string VolumesDir(std::string_view dir) {
  std::string out(dir);
  out.append("/").append(kVolumesDir);
  return out;
}

Status ValidateSpecs(const std::vector<VolumeSpec>& specs) {
  std::set<std::string_view> seen;
  for (const VolumeSpec& spec : specs) {
    FB_TRY(ValidateVolumeName(spec.name));
    if (spec.size_bytes) {
      Status size = ValidateVolumeSize(*spec.size_bytes);
      if (!size.ok()) return Status(size.code(), "volume " + spec.name, size.message());
    }
    if (!seen.insert(spec.name).second) {
      return Status::InvalidArgument("volume " + spec.name, "named twice");
    }
  }
  FB_ASSERT(seen.size() == specs.size());
  return Status::Ok();
}

// Creates (or re-creates, after a crash that left no superblock) a sparse image of exactly
// size_bytes, durable before the superblock that vouches for it is written.
Status CreateImage(env::FileSystem& fs, const std::string& path, uint64_t size_bytes) {
  FB_ASSERT(ValidateVolumeSize(size_bytes).ok());
  FB_ASSIGN_OR_RETURN(std::unique_ptr<env::File> file, fs.Open(path, {.create = true}));
  // A half-created image never held client data (the volume is served only once its
  // superblock exists), so emptying it loses nothing and leaves it fully sparse.
  FB_TRY(file->Truncate(0));
  FB_TRY(file->Truncate(size_bytes));
  FB_TRY(file->Sync());  // fdatasync makes the new size durable
  FB_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  FB_ASSERT(size == size_bytes);
  return Status::Ok();
}

// The superblock of spec's volume: loaded if it exists, else created with its image.
Result<Superblock> LoadOrCreate(env::FileSystem& fs, const std::string& dir, const VolumeSpec& spec,
                                const UuidSource& uuid_source) {
  const std::string meta_path = VolumeMetaPath(dir, spec.name);
  const std::string image_path = VolumeImagePath(dir, spec.name);
  if (fs.Exists(meta_path)) {
    FB_ASSIGN_OR_RETURN(Superblock sb, LoadSuperblock(fs, meta_path));
    if (spec.size_bytes && *spec.size_bytes != sb.size_bytes) {
      return Status::FailedPrecondition(
          "volume " + spec.name, "it is " + FormatSize(sb.size_bytes) + " but the configuration" +
                                     " asks for " + FormatSize(*spec.size_bytes) +
                                     "; volumes are never resized implicitly");
    }
    return sb;
  }
  if (!spec.size_bytes) {
    return Status::NotFound("volume " + spec.name + " does not exist; give a size to create it");
  }
  FB_ASSERT(uuid_source != nullptr);
  Superblock sb = NewSuperblock(*spec.size_bytes, uuid_source());
  // Image first, superblock second: a crash in between leaves an image without superblock,
  // which the next open re-creates; never a superblock without its image.
  FB_TRY(CreateImage(fs, image_path, sb.size_bytes));
  FB_TRY(StoreSuperblock(fs, meta_path, sb));
  return sb;
}

}  // namespace

struct VolumeSet::Entry {
  Superblock superblock;
  // Declared before volume: the TrackingVolume refers to it, so it must be destroyed after.
  std::unique_ptr<ChangeMap> changes;
  std::unique_ptr<TrackingVolume> volume;
};

Status ValidateVolumeName(std::string_view name) {
  if (name.empty() || name.size() > kVolumeNameMaxBytes) {
    return Status::InvalidArgument("volume name must be 1 to 64 characters", name);
  }
  if (name.front() == '.') {
    return Status::InvalidArgument("volume name must not start with '.'", name);
  }
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return Status::InvalidArgument("volume name may hold only A-Z a-z 0-9 . _ -", name);
  }
  return Status::Ok();
}

Status ValidateVolumeSize(uint64_t size_bytes) {
  if (size_bytes == 0) return Status::InvalidArgument("volume size must be more than 0");
  if (size_bytes % kVolumeSizeAlignBytes != 0) {
    return Status::InvalidArgument("volume size must be a multiple of 512 bytes",
                                   FormatSize(size_bytes));
  }
  if (size_bytes > kVolumeSizeMaxBytes) {
    return Status::InvalidArgument("volume size exceeds the 1024 PiB limit",
                                   FormatSize(size_bytes));
  }
  return Status::Ok();
}

std::string VolumeImagePath(std::string_view dir, std::string_view name) {
  return VolumesDir(dir).append("/").append(name).append(kImageSuffix);
}

std::string VolumeMetaPath(std::string_view dir, std::string_view name) {
  return VolumesDir(dir).append("/").append(name).append(kMetaSuffix);
}

VolumeSet::VolumeSet() = default;
VolumeSet::~VolumeSet() = default;

Result<std::unique_ptr<VolumeSet>> VolumeSet::Open(env::FileSystem& fs, const std::string& dir,
                                                   std::vector<VolumeSpec> specs,
                                                   const UuidSource& uuid_source) {
  if (dir.empty()) return Status::InvalidArgument("data directory must not be empty");
  FB_TRY(ValidateSpecs(specs));
  FB_TRY(fs.CreateDirs(VolumesDir(dir)));
  std::unique_ptr<VolumeSet> set(new VolumeSet());
  for (const VolumeSpec& spec : specs) {
    FB_ASSIGN_OR_RETURN(Superblock sb, LoadOrCreate(fs, dir, spec, uuid_source));
    const bool read_only = spec.read_only || sb.read_only();
    const std::string image_path = VolumeImagePath(dir, spec.name);
    env::OpenOptions options{.read_only = read_only, .direct_writes = !read_only};
    Result<std::unique_ptr<env::File>> file = fs.Open(image_path, options);
    if (!file.ok()) {
      // The superblock vouches for an image that is gone: never recreate it silently.
      if (file.status().code() == Code::kNotFound) {
        return Status::DataLoss("volume " + spec.name, "superblock present but image missing");
      }
      return file.status();
    }
    FB_ASSIGN_OR_RETURN(uint64_t image_size, (*file)->Size());
    if (image_size != sb.size_bytes) {
      return Status::DataLoss("volume " + spec.name, "image is " + FormatSize(image_size) +
                                                         " but its superblock says " +
                                                         FormatSize(sb.size_bytes));
    }
    auto entry = std::make_unique<Entry>();
    entry->superblock = sb;
    entry->changes =
        std::make_unique<ChangeMap>(sb.size_bytes, ChangeMap::ChooseGranularity(sb.size_bytes));
    entry->volume = std::make_unique<TrackingVolume>(
        std::make_unique<FileVolume>(spec.name, std::move(*file), sb.size_bytes, read_only),
        *entry->changes);
    set->index_.emplace(spec.name, set->entries_.size());
    set->volumes_.push_back(entry->volume.get());
    set->entries_.push_back(std::move(entry));
  }
  FB_ASSERT(set->volumes_.size() == specs.size());
  FB_ASSERT(set->index_.size() == specs.size());
  return set;
}

Result<std::vector<std::string>> VolumeSet::ListExisting(env::FileSystem& fs,
                                                         const std::string& dir) {
  FB_ASSERT(!dir.empty());
  const std::string volumes_dir = VolumesDir(dir);
  if (!fs.Exists(volumes_dir)) return std::vector<std::string>{};
  FB_ASSIGN_OR_RETURN(std::vector<std::string> files, fs.ListDir(volumes_dir));
  std::vector<std::string> names;
  for (const std::string& file : files) {
    if (file.size() <= kMetaSuffix.size() || !file.ends_with(kMetaSuffix)) continue;
    std::string name = file.substr(0, file.size() - kMetaSuffix.size());
    if (ValidateVolumeName(name).ok()) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  FB_ASSERT(names.size() <= files.size());
  return names;
}

const VolumeSet::Entry* VolumeSet::FindEntry(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  FB_ASSERT(it->second < entries_.size());
  return entries_[it->second].get();
}

Volume* VolumeSet::Find(std::string_view name) const {
  const Entry* entry = FindEntry(name);
  return entry ? entry->volume.get() : nullptr;
}

ChangeMap* VolumeSet::FindChangeMap(std::string_view name) const {
  const Entry* entry = FindEntry(name);
  return entry ? entry->changes.get() : nullptr;
}

const Superblock* VolumeSet::FindSuperblock(std::string_view name) const {
  const Entry* entry = FindEntry(name);
  return entry ? &entry->superblock : nullptr;
}

}  // namespace fb::store
