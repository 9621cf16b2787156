#include "net/address.h"

#include <gtest/gtest.h>

namespace fb::net {
namespace {

TEST(Address, ParsesTcpForms) {
  auto a = ParseAddress("127.0.0.1:10809");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, Address::Kind::kTcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 10809);
  auto v6 = ParseAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:0");
  EXPECT_EQ(a->NbdUri("vm1"), "nbd://127.0.0.1:10809/vm1");
}

TEST(Address, ParsesUnix) {
  auto a = ParseAddress("unix:/tmp/fb.sock");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, Address::Kind::kUnix);
  EXPECT_EQ(a->path, "/tmp/fb.sock");
  EXPECT_EQ(a->NbdUri("vm1"), "nbd+unix:///vm1?socket=/tmp/fb.sock");
}

TEST(Address, RejectsBadInput) {
  for (const char* bad : {"", "10809", ":10809", "host:", "host:99999", "host:12x", "unix:",
                          "[::1:80"}) {
    EXPECT_FALSE(ParseAddress(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseAddress("unix:" + std::string(200, 'x')).ok());
}

}  // namespace
}  // namespace fb::net
