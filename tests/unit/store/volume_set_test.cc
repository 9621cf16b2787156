// VolumeSet tests on a real temporary data directory: create, reopen, refusals that protect
// data (size conflicts, missing images, corrupt superblocks), crash recovery of a half-created
// volume, name and size validation, and that each volume is wired to its own ChangeMap.
#include "store/volume_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/units.h"
#include "env/file.h"
#include "temp_dir.h"

namespace fb::store {
namespace {

using testing::AllocatedBytes;

class VolumeSetTest : public ::testing::Test {
 protected:
  // Each call hands out different bytes, counted, so tests see when a uuid was drawn.
  UuidSource Uuids() {
    return [this] {
      Uuid bytes;
      bytes.fill(uint8_t(++uuid_calls_));
      return bytes;
    };
  }

  Result<std::unique_ptr<VolumeSet>> Open(std::vector<VolumeSpec> specs) {
    return VolumeSet::Open(fs_, dir_.path(), std::move(specs), Uuids());
  }

  std::string Image(const std::string& name) { return VolumeImagePath(dir_.path(), name); }
  std::string Meta(const std::string& name) { return VolumeMetaPath(dir_.path(), name); }

  testing::TempDir dir_;
  env::FileSystem& fs_ = env::PosixFileSystem();
  int uuid_calls_ = 0;
};

TEST_F(VolumeSetTest, CreatesSparseVolumesInSpecOrder) {
  auto set = Open({{"zeta", 4 * kMiB, false}, {"alpha", kGiB, false}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ((*set)->size(), 2u);
  EXPECT_EQ((*set)->volumes()[0]->name(), "zeta");
  EXPECT_EQ((*set)->volumes()[1]->name(), "alpha");
  EXPECT_EQ((*set)->volumes()[1]->size_bytes(), kGiB);
  EXPECT_EQ((*set)->Find("alpha"), (*set)->volumes()[1]);
  EXPECT_EQ((*set)->Find("beta"), nullptr);
  EXPECT_EQ((*set)->FindChangeMap("beta"), nullptr);
  EXPECT_EQ((*set)->FindSuperblock("beta"), nullptr);
  EXPECT_EQ(Image("zeta"), dir_.path() + "/volumes/zeta.img");
  EXPECT_TRUE(fs_.Exists(Image("alpha")));
  EXPECT_TRUE(fs_.Exists(Meta("alpha")));
  EXPECT_EQ(AllocatedBytes(Image("alpha")), 0);  // sparse
  EXPECT_EQ(uuid_calls_, 2);
  const Superblock* sb = (*set)->FindSuperblock("zeta");
  ASSERT_NE(sb, nullptr);
  EXPECT_EQ(sb->size_bytes, 4 * kMiB);
  EXPECT_EQ(sb->uuid[0], 1);     // the first uuid went to the first spec
  EXPECT_EQ(sb->uuid[6], 0x41);  // version 4 forced
  EXPECT_EQ((*set)->FindSuperblock("alpha")->uuid[0], 2);
}

TEST_F(VolumeSetTest, ReopenKeepsDataAndIdentity) {
  Uuid uuid;
  {
    auto set = Open({{"vm1", 4 * kMiB, false}});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    std::vector<uint8_t> data(4096, 0xab);
    ASSERT_TRUE((*set)->Find("vm1")->Write(8192, data, true).ok());
    uuid = (*set)->FindSuperblock("vm1")->uuid;
  }
  for (std::optional<uint64_t> size :
       std::vector<std::optional<uint64_t>>{4 * kMiB, std::nullopt}) {
    auto set = Open({{"vm1", size, false}});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    std::vector<uint8_t> back(4096);
    ASSERT_TRUE((*set)->Find("vm1")->Read(8192, back).ok());
    EXPECT_EQ(back, std::vector<uint8_t>(4096, 0xab));
    EXPECT_EQ((*set)->FindSuperblock("vm1")->uuid, uuid);
  }
  EXPECT_EQ(uuid_calls_, 1);  // reopening never draws a new identity
}

TEST_F(VolumeSetTest, SizeConflictIsRefusedNamingBothSizes) {
  ASSERT_TRUE(Open({{"vm1", 4 * kMiB, false}}).ok());
  auto set = Open({{"vm1", 8 * kMiB, false}});
  ASSERT_EQ(set.status().code(), Code::kFailedPrecondition);
  std::string_view message = set.status().message();
  EXPECT_NE(message.find("vm1"), std::string_view::npos) << message;
  EXPECT_NE(message.find("4 MiB"), std::string_view::npos) << message;
  EXPECT_NE(message.find("8 MiB"), std::string_view::npos) << message;
  EXPECT_EQ(AllocatedBytes(Image("vm1")), 0);
  auto image = fs_.Open(Image("vm1"), {.read_only = true});
  EXPECT_EQ(*(*image)->Size(), 4 * kMiB);  // untouched
}

TEST_F(VolumeSetTest, MissingVolumeWithoutSizeIsNotFound) {
  auto set = Open({{"ghost", std::nullopt, false}});
  ASSERT_EQ(set.status().code(), Code::kNotFound);
  EXPECT_NE(set.status().message().find("volume ghost does not exist; give a size to create it"),
            std::string_view::npos)
      << set.status().message();
  EXPECT_FALSE(fs_.Exists(Image("ghost")));
}

TEST_F(VolumeSetTest, HalfCreatedVolumeIsRecreated) {
  // A crash after the image was written but before its superblock: junk of the wrong size.
  ASSERT_TRUE(fs_.CreateDirs(dir_.path() + "/volumes").ok());
  {
    auto image = fs_.Open(Image("vm1"), {.create = true});
    ASSERT_TRUE(image.ok());
    std::vector<uint8_t> junk(8192, 0xcc);
    ASSERT_TRUE((*image)->WriteAt(0, junk).ok());
  }
  EXPECT_EQ(Open({{"vm1", std::nullopt, false}}).status().code(), Code::kNotFound);
  auto set = Open({{"vm1", 4 * kMiB, false}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  std::vector<uint8_t> back(8192, 1);
  ASSERT_TRUE((*set)->Find("vm1")->Read(0, back).ok());
  EXPECT_EQ(back, std::vector<uint8_t>(8192, 0));
  EXPECT_TRUE(fs_.Exists(Meta("vm1")));
  EXPECT_EQ(AllocatedBytes(Image("vm1")), 0);
}

TEST_F(VolumeSetTest, SuperblockWithoutImageIsDataLoss) {
  ASSERT_TRUE(Open({{"vm1", 4 * kMiB, false}}).ok());
  ASSERT_TRUE(fs_.Remove(Image("vm1")).ok());
  auto set = Open({{"vm1", 4 * kMiB, false}});
  EXPECT_EQ(set.status().code(), Code::kDataLoss);
  EXPECT_FALSE(fs_.Exists(Image("vm1")));  // never silently recreated
}

TEST_F(VolumeSetTest, ImageOfTheWrongSizeIsDataLoss) {
  ASSERT_TRUE(Open({{"vm1", 4 * kMiB, false}}).ok());
  {
    auto image = fs_.Open(Image("vm1"), {});
    ASSERT_TRUE((*image)->Truncate(2 * kMiB).ok());
  }
  auto set = Open({{"vm1", std::nullopt, false}});
  EXPECT_EQ(set.status().code(), Code::kDataLoss);
  EXPECT_NE(set.status().message().find("2 MiB"), std::string_view::npos);
}

TEST_F(VolumeSetTest, CorruptSuperblockIsDataLoss) {
  ASSERT_TRUE(Open({{"vm1", 4 * kMiB, false}}).ok());
  std::string bytes = *fs_.ReadSmallFile(Meta("vm1"));
  bytes[40] = char(bytes[40] ^ 1);
  ASSERT_TRUE(fs_.WriteSmallFileDurably(Meta("vm1"), bytes).ok());
  auto set = Open({{"vm1", 4 * kMiB, false}});
  EXPECT_EQ(set.status().code(), Code::kDataLoss);
}

TEST_F(VolumeSetTest, ReadOnlyFromSpecOrSuperblock) {
  ASSERT_TRUE(Open({{"a", 4 * kMiB, false}, {"b", 4 * kMiB, false}}).ok());
  Superblock sealed = *LoadSuperblock(fs_, Meta("b"));
  sealed.flags |= kSuperblockFlagReadOnly;
  ASSERT_TRUE(StoreSuperblock(fs_, Meta("b"), sealed).ok());
  auto set = Open({{"a", std::nullopt, true}, {"b", std::nullopt, false}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE((*set)->Find("a")->read_only());
  EXPECT_TRUE((*set)->Find("b")->read_only());
  std::vector<uint8_t> target(512);
  EXPECT_TRUE((*set)->Find("b")->Read(0, target).ok());
}

TEST_F(VolumeSetTest, VolumesAreTrackedEachInItsOwnMap) {
  auto set = Open({{"a", 4 * kMiB, false}, {"b", 4 * kMiB, false}});
  ASSERT_TRUE(set.ok());
  std::vector<uint8_t> data(10, 1);
  ASSERT_TRUE((*set)->Find("a")->Write(kMiB, data, false).ok());
  ChangeMap* a = (*set)->FindChangeMap("a");
  ChangeMap* b = (*set)->FindChangeMap("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a->IsDirty(kMiB));
  EXPECT_EQ(a->CountDirty(), 1u);
  EXPECT_EQ(b->CountDirty(), 0u);
  EXPECT_EQ(a->volume_size_bytes(), 4 * kMiB);
  EXPECT_EQ(a->granularity_bytes(), ChangeMap::kDefaultGranularityBytes);
}

TEST_F(VolumeSetTest, NamesAreValidated) {
  for (const char* bad : {"", ".hidden", "..", "a/b", "a b", "vol:1", "é", "a\n"}) {
    auto set = Open({{bad, kMiB, false}});
    EXPECT_EQ(set.status().code(), Code::kInvalidArgument) << "'" << bad << "'";
  }
  EXPECT_EQ(ValidateVolumeName(std::string(65, 'a')).code(), Code::kInvalidArgument);
  EXPECT_TRUE(ValidateVolumeName(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateVolumeName("vm-1.disk_2").ok());
  EXPECT_TRUE(ValidateVolumeName("a.").ok());
  EXPECT_FALSE(fs_.Exists(dir_.path() + "/volumes"));  // refused before touching the disk
}

TEST_F(VolumeSetTest, SizesAreValidated) {
  for (uint64_t bad : {uint64_t{0}, uint64_t{1000}, uint64_t{513}, (uint64_t{1} << 60) + 512,
                       ~uint64_t{0} - 511}) {
    auto set = Open({{"vm", bad, false}});
    EXPECT_EQ(set.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateVolumeSize(512).ok());
  EXPECT_TRUE(ValidateVolumeSize(uint64_t{1} << 60).ok());
  auto set = Open({{"tiny", 512, false}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ((*set)->Find("tiny")->size_bytes(), 512u);
}

TEST_F(VolumeSetTest, DuplicatesAreRefusedBeforeTouchingTheDisk) {
  auto set = Open({{"vm", kMiB, false}, {"other", kMiB, false}, {"vm", kMiB, false}});
  EXPECT_EQ(set.status().code(), Code::kInvalidArgument);
  EXPECT_NE(set.status().message().find("vm"), std::string_view::npos);
  EXPECT_FALSE(fs_.Exists(dir_.path() + "/volumes"));
  EXPECT_EQ(uuid_calls_, 0);
}

TEST_F(VolumeSetTest, EmptySpecListIsAnEmptySet) {
  auto set = Open({});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ((*set)->size(), 0u);
}

TEST_F(VolumeSetTest, ListExistingIsSorted) {
  EXPECT_TRUE(VolumeSet::ListExisting(fs_, dir_.path())->empty());
  ASSERT_TRUE(Open({{"zeta", kMiB, false}, {"alpha", kMiB, false}}).ok());
  // A half-created image has no superblock and is not a volume.
  ASSERT_TRUE(fs_.Open(Image("half"), {.create = true}).ok());
  auto names = VolumeSet::ListExisting(fs_, dir_.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"alpha", "zeta"}));
}

}  // namespace
}  // namespace fb::store
