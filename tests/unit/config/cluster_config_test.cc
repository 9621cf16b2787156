#include "config/cluster_config.h"

#include <gtest/gtest.h>

namespace fb::config {
namespace {

constexpr const char* kTwoNodes = R"(
[cluster]
name = "lab"
[coordinator]
address = "127.0.0.1:10800"
[timing]
heartbeat_ms = 50
lease_ms = 500
margin_ms = 100
[[node]]
id = "n1"
nbd = "127.0.0.1:10809"
repl = "127.0.0.1:10819"
dir = "/var/lib/fb/n1"
[[node]]
id = "n2"
nbd = "127.0.0.1:10810"
repl = "127.0.0.1:10820"
dir = "/var/lib/fb/n2"
[[volume]]
name = "vm1"
size = "4GiB"
replicas = 2
degraded = "allow-writes"
)";

TEST(ClusterConfig, ParsesEveryField) {
  auto c = ParseClusterConfig(kTwoNodes);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "lab");
  EXPECT_EQ(c->coordinator.port, 10800);
  ASSERT_EQ(c->nodes.size(), 2u);
  EXPECT_EQ(c->nodes[1].id, "n2");
  EXPECT_EQ(c->nodes[1].repl.port, 10820);
  EXPECT_EQ(c->nodes[0].dir, "/var/lib/fb/n1");
  ASSERT_EQ(c->volumes.size(), 1u);
  EXPECT_EQ(c->volumes[0].size_bytes, 4ull << 30);
  EXPECT_EQ(c->volumes[0].degraded, DegradedPolicy::kAllowWrites);
  EXPECT_NE(c->FindNode("n1"), nullptr);
  EXPECT_EQ(c->FindNode("n3"), nullptr);
}

TEST(ClusterConfig, FormatRoundTrips) {
  auto c = ParseClusterConfig(kTwoNodes);
  ASSERT_TRUE(c.ok());
  auto again = ParseClusterConfig(FormatClusterConfig(*c));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(FormatClusterConfig(*again), FormatClusterConfig(*c));
  EXPECT_EQ(again->volumes[0].size_bytes, c->volumes[0].size_bytes);
  EXPECT_EQ(again->nodes[1].nbd.ToString(), "127.0.0.1:10810");
}

TEST(ClusterConfig, RejectsBrokenTopologies) {
  std::string dup_id = kTwoNodes;
  dup_id.replace(dup_id.find("\"n2\""), 4, "\"n1\"");
  EXPECT_FALSE(ParseClusterConfig(dup_id).ok());

  std::string too_many = kTwoNodes;
  too_many.replace(too_many.find("replicas = 2"), 12, "replicas = 3");
  EXPECT_FALSE(ParseClusterConfig(too_many).ok());

  std::string bad_timing = kTwoNodes;
  bad_timing.replace(bad_timing.find("lease_ms = 500"), 14, "lease_ms = 60");
  EXPECT_FALSE(ParseClusterConfig(bad_timing).ok());

  std::string shared_port = kTwoNodes;
  shared_port.replace(shared_port.find("10820"), 5, "10819");
  EXPECT_FALSE(ParseClusterConfig(shared_port).ok());

  EXPECT_FALSE(ParseClusterConfig("not [valid toml").ok());
  EXPECT_FALSE(ParseClusterConfig("[cluster]\nname='x'\n").ok());  // no coordinator
}

}  // namespace
}  // namespace fb::config
