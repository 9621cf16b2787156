#include "base/status.h"

#include <gtest/gtest.h>

#include "base/result.h"

namespace fb {
namespace {

TEST(Status, OkIsCheapAndPrints) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, CarriesCodeAndBothMessages) {
  Status s = Status::IOError("vm1.img", "Input/output error");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.ToString(), "IOError: vm1.img: Input/output error");
  Status copy = s;
  EXPECT_EQ(copy.ToString(), s.ToString());
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Status Quarter(int v, int* out) {
  FB_ASSIGN_OR_RETURN(int h, Half(v));
  FB_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(Result, PropagatesErrorsAndValues) {
  int q = 0;
  EXPECT_TRUE(Quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  EXPECT_EQ(Quarter(6, &q).code(), Code::kInvalidArgument);
}

TEST(ResultDeathTest, ValueOfErrorAsserts) {
  Result<int> r = Status::NotFound("x");
  EXPECT_DEATH((void)r.value(), "assertion failed");
}

}  // namespace
}  // namespace fb
