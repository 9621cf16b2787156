#include "server/repl_state_file.h"

#include <gtest/gtest.h>

namespace fb::server {
namespace {

TEST(ReplStateFile, RoundTrips) {
  repl::PersistedState s;
  s.promised_epoch = 42;
  s.blank = true;
  s.al_regions = {1, 7, 900};
  auto back = DecodeReplState(EncodeReplState(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
  repl::PersistedState empty;
  EXPECT_EQ(*DecodeReplState(EncodeReplState(empty)), empty);
}

TEST(ReplStateFile, EveryCorruptionIsDataLoss) {
  repl::PersistedState s;
  s.promised_epoch = 3;
  s.al_regions = {5, 6};
  std::string text = EncodeReplState(s);
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] ^= 0x01;
    auto r = DecodeReplState(bad);
    // Either refused, or (a flip in the trailing newline) the very same state: never a
    // different state read as valid.
    if (r.ok()) EXPECT_EQ(*r, s) << "flip at " << i;
  }
  EXPECT_EQ(DecodeReplState("").status().code(), Code::kDataLoss);
  EXPECT_EQ(DecodeReplState(text.substr(0, text.size() / 2)).status().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace fb::server
