// firebreak: the single binary. Subcommands live in src/cli/*_command.cc.
int main() { return 0; }
