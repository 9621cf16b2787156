#include "admin/command.h"

#include <gtest/gtest.h>

namespace fb::admin {
namespace {

TEST(AdminCommand, ParsesAndFormatsEveryForm) {
  for (const char* text : {"ping", "block n2 in", "block n2 out", "block n3 both", "heal n2"}) {
    auto c = ParseCommand(std::string(text) + "\n");
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(FormatCommand(*c), text);
  }
  auto b = ParseCommand("block n2 both");
  EXPECT_TRUE(b->inbound);
  EXPECT_TRUE(b->outbound);
  EXPECT_EQ(b->peer, "n2");
}

TEST(AdminCommand, RejectsEverythingElse) {
  for (const char* text : {"", "  ", "pong", "block n2", "block n2 sideways", "heal",
                           "heal n2 now", "ping extra"}) {
    EXPECT_FALSE(ParseCommand(text).ok()) << text;
  }
  EXPECT_FALSE(ParseCommand(std::string(300, 'a')).ok());
}

}  // namespace
}  // namespace fb::admin
