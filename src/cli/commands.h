// The firebreak subcommands. Each registers its flags on the CLI11 app and returns a runner;
// main.cc parses once and runs the chosen one. CLI11 throws on bad flags: caught in main.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace fb::cli {

using Runner = std::function<int()>;

// firebreak serve: serve volumes of a data directory over NBD.
Runner AddServeCommand(CLI::App& app);
// firebreak coordinator: run the cluster's witness (embedded coordinator).
Runner AddCoordinatorCommand(CLI::App& app);
// firebreak up: a local replicated cluster in the foreground.
Runner AddUpCommand(CLI::App& app);
// firebreak status: roles, epochs, in-sync sets, resync progress; DEGRADED is loud.
Runner AddStatusCommand(CLI::App& app);
// firebreak fault: the admin socket's fault seams (partition a peer, heal it).
Runner AddFaultCommand(CLI::App& app);
// firebreak attach: a local NBD endpoint that follows the volume's primary across failovers.
Runner AddAttachCommand(CLI::App& app);
// firebreak switchover: planned handover of a volume to an in-sync replica.
Runner AddSwitchoverCommand(CLI::App& app);

// --poll-us, for the commands that run NBD event loops (serve, attach).
void AddPollOption(CLI::App& cmd, int& poll_us);

}  // namespace fb::cli
