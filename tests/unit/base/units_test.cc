#include "base/units.h"

#include <gtest/gtest.h>

namespace fb {
namespace {

TEST(ParseSize, PlainAndUnits) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("512"), 512u);
  EXPECT_EQ(*ParseSize("4k"), 4 * kKiB);
  EXPECT_EQ(*ParseSize("4GiB"), 4 * kGiB);
  EXPECT_EQ(*ParseSize("1M"), kMiB);
  EXPECT_EQ(*ParseSize("2tb"), 2 * kTiB);
}

TEST(ParseSize, RejectsGarbage) {
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("GiB").ok());
  EXPECT_FALSE(ParseSize("4XB").ok());
  EXPECT_FALSE(ParseSize("-1").ok());
  EXPECT_FALSE(ParseSize("99999999999999999999").ok());
  EXPECT_FALSE(ParseSize("17179869184TiB").ok());  // overflows 64 bits
}

TEST(FormatSize, ExactUnits) {
  EXPECT_EQ(FormatSize(4 * kGiB), "4 GiB");
  EXPECT_EQ(FormatSize(1000), "1000 B");
  EXPECT_EQ(FormatSize(3 * kMiB), "3 MiB");
}

}  // namespace
}  // namespace fb
