// Supervisor: runs the processes of a local cluster (`firebreak up`) as children, each with
// its own log file, reports loudly when one exits, and on SIGINT/SIGTERM stops them all
// (SIGTERM, then SIGKILL after a bounded grace period). Single-threaded; blocks signals.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "base/status.h"

namespace fb::cli {

struct Child {
  std::string name;               // "coordinator", "n1", ...
  std::vector<std::string> argv;  // argv[0] is the program path
  std::string log_path;
  pid_t pid = -1;
  bool running = false;
};

class Supervisor {
 public:
  Supervisor();  // blocks SIGINT, SIGTERM, SIGCHLD for sigtimedwait
  Status Spawn(Child child);
  // Returns when SIGINT/SIGTERM arrives or every child has exited.
  void WaitForStop();
  // SIGTERM to every running child, SIGKILL to those still running after grace_ms.
  void StopAll(int grace_ms);
  const std::vector<Child>& children() const { return children_; }

 private:
  void Reap();
  std::vector<Child> children_;
};

}  // namespace fb::cli
