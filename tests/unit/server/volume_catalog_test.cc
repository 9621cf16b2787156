#include "server/volume_catalog.h"

#include <gtest/gtest.h>

namespace fb::server {
namespace {

TEST(ParseVolumeSpec, Forms) {
  auto a = ParseVolumeSpec("vm1=4GiB");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "vm1");
  EXPECT_EQ(*a->size_bytes, 4ull << 30);
  EXPECT_FALSE(a->read_only);

  auto b = ParseVolumeSpec("base=1G:ro");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->read_only);
  EXPECT_EQ(*b->size_bytes, 1ull << 30);

  auto c = ParseVolumeSpec("old");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->size_bytes.has_value());

  auto d = ParseVolumeSpec("old:ro");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->read_only);
  EXPECT_EQ(d->name, "old");
}

TEST(ParseVolumeSpec, Rejects) {
  for (const char* bad : {"", "=4G", "vm1=", "vm1=4X", "../x=1G", ".hidden=1G", "vm1=0",
                          "vm1=1000"}) {
    EXPECT_FALSE(ParseVolumeSpec(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace fb::server
