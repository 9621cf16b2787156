// MetaState: the promise and activity log become durable before anything relies on them.
#include "repl/meta_state.h"

#include <gtest/gtest.h>

namespace fb::repl {
namespace {

const VolumeGeometry kGeometry{1, 1024 * 1024, 64 * 1024};

TEST(MetaState, PromiseIsDurableOnlyAfterThePersistCompletes) {
  MetaState meta(kGeometry, PersistedState{3, false, {}});
  meta.Promise(5);
  EXPECT_EQ(meta.promised(), 5u);
  EXPECT_FALSE(meta.PromiseDurable(5));
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  EXPECT_FALSE(meta.MaybePersist(2, out));  // one persist in flight at a time
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<PersistState>(out[0]).state->promised_epoch, 5u);
  meta.OnPersisted(1, Status::Ok());
  EXPECT_TRUE(meta.PromiseDurable(5));
}

TEST(MetaState, RegionsAreCoveredAfterPersistAndTrimmedByFlushes) {
  MetaState meta(kGeometry, PersistedState{});
  meta.Touch(70 * 1024, 4096, /*tenure=*/2, /*op_seq=*/10);
  EXPECT_FALSE(meta.Covered(70 * 1024, 4096));
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  EXPECT_TRUE(meta.Covered(70 * 1024, 4096));
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{1});
  meta.Trim(2, 10);  // finished, but a log this small is kept as it is (lazy trim)
  EXPECT_EQ(meta.al_size(), 1u);
}

TEST(MetaState, PastTheKeepLimitFinishedRegionsAreTrimmed) {
  const VolumeGeometry big{1, (kAlKeepRegions + 8) * 64 * 1024, 64 * 1024};
  MetaState meta(big, PersistedState{});
  meta.Touch(64 * 1024, 4096, /*tenure=*/2, /*op_seq=*/10);
  for (uint64_t r = 2; r < 2 + kAlKeepRegions; ++r) meta.Touch(r * 64 * 1024, 4096, 2, 20 + r);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  ASSERT_EQ(meta.al_size(), kAlKeepRegions + 1);
  meta.Trim(2, 9);  // op 10 not yet finished: everything kept
  EXPECT_EQ(meta.al_size(), kAlKeepRegions + 1);
  meta.Trim(2, 10);
  EXPECT_EQ(meta.al_size(), kAlKeepRegions);
  // Trims are persisted lazily; the durable log still names the region (over-approximate).
  EXPECT_EQ(meta.Regions().front(), 1u);
}

TEST(MetaState, AFailedPersistKeepsTheOldStateAndRetries) {
  MetaState meta(kGeometry, PersistedState{1, false, {}});
  meta.Promise(2);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::IOError("disk"));
  EXPECT_FALSE(meta.PromiseDurable(2));
  EXPECT_TRUE(meta.MaybePersist(2, out));
}

}  // namespace
}  // namespace fb::repl
