// PrimaryHint: find "primary is ", take the word after it, look it up.
#include "attach/primary_hint.h"

#include "base/assert.h"

namespace fb::attach {

int PrimaryHint(std::string_view refusal, std::span<const std::string> node_ids) {
  constexpr std::string_view kMarker = "primary is ";
  const size_t at = refusal.rfind(kMarker);
  if (at == std::string_view::npos) return -1;
  std::string_view rest = refusal.substr(at + kMarker.size());
  const size_t end = rest.find_first_of(" ;,\n");
  const std::string_view id = rest.substr(0, end);
  if (id.empty()) return -1;
  for (size_t i = 0; i < node_ids.size(); ++i) {
    if (node_ids[i] == id) {
      FB_ASSERT(i < node_ids.size());
      return int(i);
    }
  }
  return -1;
}

}  // namespace fb::attach
