// PrimaryHint: the refusal text FireBreak nodes send, and texts that name nobody we know.
#include "attach/primary_hint.h"

#include <gtest/gtest.h>

namespace fb::attach {
namespace {

const std::vector<std::string> kNodes = {"n1", "n2", "n3"};

TEST(PrimaryHint, ReadsTheNodeOurRefusalNames) {
  EXPECT_EQ(PrimaryHint("not primary for vm1; primary is n2 at 127.0.0.1:10810", kNodes), 1);
  EXPECT_EQ(PrimaryHint("not primary for vm1; primary is n3", kNodes), 2);
}

TEST(PrimaryHint, NamesNobodyOtherwise) {
  EXPECT_EQ(PrimaryHint("not primary for vm1; primary is unknown", kNodes), -1);
  EXPECT_EQ(PrimaryHint("not primary for vm1; primary is n22 at x", kNodes), -1);
  EXPECT_EQ(PrimaryHint("primary is ", kNodes), -1);
  EXPECT_EQ(PrimaryHint("", kNodes), -1);
  EXPECT_EQ(PrimaryHint("server policy prevents NBD_OPT_GO", kNodes), -1);
}

}  // namespace
}  // namespace fb::attach
