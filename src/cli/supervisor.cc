// Supervisor: fork/exec with output redirected to a log; signals through sigtimedwait.
#include "cli/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "env/posix_error.h"

namespace fb::cli {

Supervisor::Supervisor() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

Status Supervisor::Spawn(Child child) {
  int log_fd = open(child.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return env::PosixError(child.log_path, errno);
  std::vector<char*> argv;
  for (auto& a : child.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return env::PosixError("fork", errno);
  }
  if (pid == 0) {
    // Child: default signal mask, output to the log, own process group so a terminal
    // Ctrl-C reaches only the supervisor, which then stops the children in order.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(log_fd);
  child.pid = pid;
  child.running = true;
  children_.push_back(std::move(child));
  return Status::Ok();
}

void Supervisor::Reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& c : children_) {
      if (c.pid != pid) continue;
      c.running = false;
      if (WIFSIGNALED(status)) {
        std::fprintf(stderr, "firebreak up: %s (pid %d) killed by signal %d; see %s\n",
                     c.name.c_str(), pid, WTERMSIG(status), c.log_path.c_str());
      } else {
        std::fprintf(stderr, "firebreak up: %s (pid %d) exited with status %d; see %s\n",
                     c.name.c_str(), pid, WEXITSTATUS(status), c.log_path.c_str());
      }
    }
  }
}

void Supervisor::WaitForStop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  for (;;) {
    timespec timeout{1, 0};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) return;
    Reap();
    bool any = false;
    for (const auto& c : children_) any = any || c.running;
    if (!any) return;
  }
}

void Supervisor::StopAll(int grace_ms) {
  for (auto& c : children_) {
    if (c.running) kill(c.pid, SIGTERM);
  }
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    Reap();
    bool any = false;
    for (const auto& c : children_) any = any || c.running;
    if (!any) return;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed_ms > grace_ms) break;
    usleep(20 * 1000);
  }
  for (auto& c : children_) {
    if (c.running) kill(c.pid, SIGKILL);
  }
  for (auto& c : children_) {
    if (c.running) {
      waitpid(c.pid, nullptr, 0);
      c.running = false;
    }
  }
}

}  // namespace fb::cli
