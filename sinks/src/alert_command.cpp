// The alert command: /bin/sh -c COMMAND spawned with posix_spawn, in a process group of its own
// (so a time limit can kill everything it started), with only stdin (the alert's JSON), stdout
// and stderr: every other descriptor of the monitor (output files, sockets, GStreamer's pipes)
// is closed in the child, whatever its close-on-exec flag.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"

extern char** environ;

namespace framescribe::sinks {
namespace {

using Clock = std::chrono::steady_clock;

// The monitor's environment with the FS_ALERT_* variables set (replacing any inherited ones).
std::vector<std::string> child_environment(const core::Alert& a) {
  const std::pair<const char*, std::string> vars[] = {{"FS_ALERT_STREAM", a.stream},
                                                      {"FS_ALERT_RULE", a.rule},
                                                      {"FS_ALERT_SCORE", std::to_string(a.score)},
                                                      {"FS_ALERT_SNAPSHOT", a.snapshot_path}};
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    bool ours = false;
    for (const auto& v : vars)
      ours |=
          std::strncmp(*e, v.first, std::strlen(v.first)) == 0 && (*e)[std::strlen(v.first)] == '=';
    if (!ours) env.emplace_back(*e);
  }
  for (const auto& v : vars) env.push_back(std::string(v.first) + "=" + v.second);
  return env;
}

class AlertCommand final : public AlertDelivery {
 public:
  AlertCommand(std::string cmd, double timeout_s) : cmd_(std::move(cmd)), timeout_s_(timeout_s) {
    FS_CHECK(!cmd_.empty(), kInvalidArgument, "alert command: empty");
    FS_CHECK(timeout_s_ > 0, kInvalidArgument,
             "--alert-command-timeout must be > 0 seconds (got " << timeout_s_ << ")");
    // A command that does not read its stdin must not kill the monitor with SIGPIPE (the
    // child gets the default action back: POSIX_SPAWN_SETSIGDEF below).
    std::signal(SIGPIPE, SIG_IGN);
  }
  std::string_view name() const override { return "command"; }

  bool deliver(const core::Alert& a) override {
    const std::string body = alert_json(a) + "\n";
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return fail("cannot create a pipe: " + errno_text());

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);  // dup2 clears close-on-exec
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group: pid == pgid
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<std::string> env = child_environment(a);
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "sh", dash_c = "-c", command = cmd_;
    char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in[0]);
    if (rc != 0) {
      ::close(in[1]);
      return fail("cannot start /bin/sh: " + std::string(std::strerror(rc)));
    }
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeout_s_));
    write_body(in[1], body, deadline);
    ::close(in[1]);

    int status = 0;
    if (!wait_until(pid, &status, deadline)) {
      // Over the limit: the whole group (the shell and whatever it started), TERM then KILL.
      ::kill(-pid, SIGTERM);
      if (!wait_until(pid, &status, Clock::now() + std::chrono::seconds(1))) {
        ::kill(-pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      ::kill(-pid, SIGKILL);  // children that outlived the shell
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", timeout_s_);
      return fail("killed (with its process group) after the " + std::string(limit) +
                  " s limit (--alert-command-timeout)");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    return fail(WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                  : "killed by signal " + std::to_string(WTERMSIG(status)));
  }

 private:
  static std::string errno_text() { return std::strerror(errno); }

  // Writes the JSON unless the command neither reads it nor exits before the deadline.
  static void write_body(int fd, const std::string& body, Clock::time_point deadline) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::size_t off = 0;
    while (off < body.size()) {
      const ssize_t n = ::write(fd, body.data() + off, body.size() - off);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) return;  // EPIPE: it exited without reading
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    }
  }

  // Reaps `pid`, polling until `deadline`; false when it is still running then.
  static bool wait_until(pid_t pid, int* status, Clock::time_point deadline) {
    auto nap = std::chrono::milliseconds(1);
    for (;;) {
      const pid_t r = ::waitpid(pid, status, WNOHANG);
      if (r == pid) return true;
      if (r < 0 && errno != EINTR) return true;  // not ours any more (cannot happen)
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::milliseconds(50));
    }
  }

  bool fail(const std::string& why) {
    ++failures_;
    FS_LOG_WARN("alert command: " << why);
    return false;
  }
  std::string cmd_;
  double timeout_s_;
};

}  // namespace

std::unique_ptr<AlertDelivery> make_alert_command(std::string command, double timeout_s) {
  return std::make_unique<AlertCommand>(std::move(command), timeout_s);
}

}  // namespace framescribe::sinks
