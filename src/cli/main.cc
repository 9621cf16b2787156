// firebreak: the single binary. Parses the command line and runs one subcommand.
#include <malloc.h>
#include <signal.h>

#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Request buffers (up to 32 MiB each) come and go at the request rate. glibc would map
  // each large one fresh and unmap it when freed: a page fault per 4 KiB touched and a TLB
  // flush per free, about a tenth of the replicated 1 MiB write path's CPU. Served from the
  // heap instead, freed buffers are reused warm; the memory budget (--memory) bounds them.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // A peer that closes its socket makes our next write to it fail with EPIPE, which is how we
  // want to hear it. asio's sends pass MSG_NOSIGNAL, but sendfile(2) (READ replies sent from
  // the page cache) has no such flag, and its SIGPIPE would kill the whole server.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"FireBreak: a highly available SAN serving virtual disks over NBD"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "firebreak 0.1");
  std::vector<std::pair<CLI::App*, fb::cli::Runner>> commands;
  auto add = [&](fb::cli::Runner (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    fb::cli::Runner run = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(fb::cli::AddServeCommand);
  add(fb::cli::AddCoordinatorCommand);
  add(fb::cli::AddUpCommand);
  add(fb::cli::AddStatusCommand);
  add(fb::cli::AddFaultCommand);
  add(fb::cli::AddAttachCommand);
  add(fb::cli::AddSwitchoverCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : commands) {
    if (sub->parsed()) return run();
  }
  return 2;
}
