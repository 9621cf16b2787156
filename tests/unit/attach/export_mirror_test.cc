// MirrorExport and SameExport: attach presents exactly the primary's export, and refuses a
// primary that presents another.
#include "attach/export_mirror.h"

#include <gtest/gtest.h>

#include "proto/nbd/wire.h"

namespace fb::attach {
namespace {

nbd::Negotiated Primary() {
  nbd::Negotiated n;
  n.export_info.name = "vm1";
  n.export_info.description = "FireBreak volume vm1";
  n.export_info.size_bytes = 64 << 20;
  n.export_info.can_fast_zero = false;
  n.structured_replies = true;
  n.base_allocation_id = nbd::kBaseAllocationId;
  n.transmission_flags = nbd::TransmissionFlags(n.export_info, true);
  return n;
}

TEST(MirrorExport, PresentsThePrimarysExportWithTheSameFlags) {
  Result<nbd::ExportInfo> info = MirrorExport(Primary());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size_bytes, uint64_t{64} << 20);
  EXPECT_EQ(nbd::TransmissionFlags(*info, true), Primary().transmission_flags);
  EXPECT_FALSE(nbd::TransmissionFlags(*info, true) & nbd::kFlagSendFastZero);
  MirrorCatalog catalog(*info);
  EXPECT_TRUE(catalog.Find("vm1").has_value());
  EXPECT_TRUE(catalog.Find("").has_value());
  EXPECT_FALSE(catalog.Find("vm2").has_value());
}

TEST(MirrorExport, RefusesWhatItCouldNotPresentUnchanged) {
  nbd::Negotiated n = Primary();
  n.transmission_flags &= ~nbd::kFlagCanMultiConn;  // a flag our codec would add
  EXPECT_FALSE(MirrorExport(n).ok());
  n = Primary();
  n.base_allocation_id.reset();
  EXPECT_FALSE(MirrorExport(n).ok());
  n = Primary();
  n.structured_replies = false;
  EXPECT_FALSE(MirrorExport(n).ok());
}

TEST(SameExport, ComparesSizeFlagsAndBlockSizes) {
  EXPECT_TRUE(SameExport(Primary(), Primary()).ok());
  nbd::Negotiated n = Primary();
  n.export_info.size_bytes += 4096;
  EXPECT_FALSE(SameExport(Primary(), n).ok());
  n = Primary();
  n.transmission_flags |= nbd::kFlagReadOnly;
  EXPECT_FALSE(SameExport(Primary(), n).ok());
  n = Primary();
  n.export_info.block_max = 1 << 20;
  EXPECT_FALSE(SameExport(Primary(), n).ok());
  n = Primary();
  n.base_allocation_id = 7;
  EXPECT_FALSE(SameExport(Primary(), n).ok());
  n = Primary();
  n.export_info.description = "other text";  // not something a client compares
  EXPECT_TRUE(SameExport(Primary(), n).ok());
}

}  // namespace
}  // namespace fb::attach
