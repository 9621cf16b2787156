// Reading the primary's name out of a standby's refusal. A FireBreak node that is not the
// primary answers NBD_OPT_GO with NBD_REP_ERR_POLICY and the text "not primary for vm1;
// primary is n2 at 127.0.0.1:10810" (server::ReplNode::Refusal); following that hint finds a
// new primary without waiting for the next round of attempts.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fb::attach {

// The index in `node_ids` of the node the refusal names, or -1 when it names none we know
// ("primary is unknown", or another server's words). Pure; never trusts the text beyond that.
int PrimaryHint(std::string_view refusal, std::span<const std::string> node_ids);

}  // namespace fb::attach
