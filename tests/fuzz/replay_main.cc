// main() for fuzz targets in the normal (g++) build: runs every corpus file given on the command
// line through LLVMFuzzerTestOneInput, then a fixed-seed mutation pass over them, so ctest
// exercises each target deterministically without libFuzzer. A failure aborts via FB_ASSERT.
//   usage: fuzz_replay_<target> [--mutations=N] [--seed=S] <corpus dir or file>...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Input = std::vector<uint8_t>;

constexpr uint64_t kDefaultMutations = 20000;
constexpr uint64_t kDefaultSeed = 0x5eed5eed;
constexpr size_t kMaxInputBytes = 256 * 1024;

// splitmix64: the only randomness here, so every run sees the same inputs.
struct Rng {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : size_t(Next() % n); }
};

Input ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::vector<fs::path> CorpusFiles(const std::vector<std::string>& roots) {
  std::vector<fs::path> files;
  for (const std::string& root : roots) {
    if (fs::is_regular_file(root)) files.emplace_back(root);
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());  // directory order is not stable
  return files;
}

// Big-endian values that sit on the protocol's boundaries (limits, lengths, magics).
constexpr uint32_t kInteresting[] = {0,          1,          2,          4,          6,
                                     8,          28,         512,        4096,       4097,
                                     65536,      65537,      0x7fffffff, 0x80000000, 0xfffffff7,
                                     0xffffffff, 0x25609513, 0x49484156, 0x454f5054, 0x668e33ef};

void WriteBe32(Input& input, size_t at, uint32_t value) {
  for (int i = 0; i < 4 && at + i < input.size(); ++i)
    input[at + i] = uint8_t(value >> (24 - 8 * i));
}

void MutateOnce(Input& input, const std::vector<Input>& corpus, Rng& rng) {
  switch (rng.Below(9)) {
    case 0:  // flip a bit
      if (!input.empty()) input[rng.Below(input.size())] ^= uint8_t(1 << rng.Below(8));
      break;
    case 1:  // set a byte
      if (!input.empty()) input[rng.Below(input.size())] = uint8_t(rng.Next());
      break;
    case 2:  // insert a few random bytes
      for (size_t n = 1 + rng.Below(8), at = rng.Below(input.size() + 1); n > 0; --n) {
        input.insert(input.begin() + at, uint8_t(rng.Next()));
      }
      break;
    case 3: {  // erase a range
      if (input.empty()) break;
      const size_t at = rng.Below(input.size());
      const size_t n = 1 + rng.Below(std::min<size_t>(input.size() - at, 32));
      input.erase(input.begin() + at, input.begin() + at + n);
      break;
    }
    case 4: {  // duplicate a range (repeats options and requests)
      if (input.empty()) break;
      const size_t at = rng.Below(input.size());
      const size_t n = 1 + rng.Below(input.size() - at);
      const Input copy(input.begin() + at, input.begin() + at + n);
      input.insert(input.begin() + rng.Below(input.size() + 1), copy.begin(), copy.end());
      break;
    }
    case 5:  // an interesting big-endian u32 somewhere
      if (!input.empty()) {
        WriteBe32(input, rng.Below(input.size()), kInteresting[rng.Below(std::size(kInteresting))]);
      }
      break;
    case 6: {  // splice with another corpus entry
      const Input& other = corpus[rng.Below(corpus.size())];
      const size_t keep = rng.Below(input.size() + 1);
      input.resize(keep);
      const size_t from = rng.Below(other.size() + 1);
      input.insert(input.end(), other.begin() + from, other.end());
      break;
    }
    case 7:  // truncate
      input.resize(rng.Below(input.size() + 1));
      break;
    case 8:  // rarely, a long run of bytes (oversized options stream past)
      if (rng.Below(16) == 0) {
        input.insert(input.begin() + rng.Below(input.size() + 1), 70000 + rng.Below(1000),
                     uint8_t(rng.Next()));
      }
      break;
  }
  if (input.size() > kMaxInputBytes) input.resize(kMaxInputBytes);
}

bool ParseFlag(std::string_view arg, std::string_view name, uint64_t& value) {
  if (arg.substr(0, name.size()) != name) return false;
  value = std::strtoull(std::string(arg.substr(name.size())).c_str(), nullptr, 0);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mutations = kDefaultMutations;
  uint64_t seed = kDefaultSeed;
  std::vector<std::string> roots;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!ParseFlag(arg, "--mutations=", mutations) && !ParseFlag(arg, "--seed=", seed)) {
      roots.emplace_back(arg);
    }
  }
  std::vector<Input> corpus;
  for (const fs::path& path : CorpusFiles(roots)) corpus.push_back(ReadFile(path));
  if (corpus.empty()) {
    std::fprintf(stderr, "replay: no corpus files found\n");
    return 1;
  }
  for (const Input& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  LLVMFuzzerTestOneInput(nullptr, 0);

  Rng rng{seed};
  for (uint64_t i = 0; i < mutations; ++i) {
    Input input = corpus[rng.Below(corpus.size())];
    for (size_t n = 1 + rng.Below(4); n > 0; --n) MutateOnce(input, corpus, rng);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("replay: %zu corpus files and %llu mutations (seed %llu) passed\n", corpus.size(),
              static_cast<unsigned long long>(mutations), static_cast<unsigned long long>(seed));
  return 0;
}
