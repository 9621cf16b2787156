// The firebreak subcommands. Each registers its flags on the CLI11 app and returns a runner;
// main.cc parses once and runs the chosen one. CLI11 throws on bad flags: caught in main.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace fb::cli {

using Runner = std::function<int()>;

// firebreak serve: serve volumes of a data directory over NBD.
Runner AddServeCommand(CLI::App& app);

}  // namespace fb::cli
