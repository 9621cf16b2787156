// Convention 6 (STYLE.md): no hidden nondeterminism. Only src/env, src/net, src/server and
// src/cli may read clocks, spawn threads, open sockets or call file syscalls; the cores
// (base, proto, store, and later repl/sim) must go through the Env seam so the simulator can
// run them. This test greps the tree so a violation fails CI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

TEST(NoOsCalls, CoresUseTheEnvSeam) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(FB_SOURCE_DIR) / "src";
  const std::regex forbidden(
      R"((std::chrono::(steady|system|high_resolution)_clock|\brand\(|std::thread\b|)"
      R"(\b(open|pread|pwrite|preadv2|pwritev2|fsync|fdatasync|fallocate|lseek|socket|)"
      R"(clock_gettime|gettimeofday)\s*\())");
  const std::vector<std::string> allowed = {"env", "net", "server", "cli"};
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    if (!entry.is_regular_file()) continue;
    auto rel = fs::relative(entry.path(), src);
    std::string top = rel.begin()->string();
    if (std::find(allowed.begin(), allowed.end(), top) != allowed.end()) continue;
    std::ifstream in(entry.path());
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      std::string code = line.substr(0, line.find("//"));
      EXPECT_FALSE(std::regex_search(code, forbidden))
          << rel.string() << ":" << lineno << ": " << line;
    }
    ++checked;
  }
  EXPECT_GT(checked, 10);  // the walk really saw the cores
}

}  // namespace
