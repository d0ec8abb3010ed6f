#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {
namespace {

class AlertCommand final : public AlertDelivery {
 public:
  explicit AlertCommand(std::string cmd) : cmd_(std::move(cmd)) {
    FS_CHECK(!cmd_.empty(), kInvalidArgument, "alert command: empty");
  }
  std::string_view name() const override { return "command"; }
  bool deliver(const AlertRecord& a) override {
    const std::string body = alert_json(a) + "\n";
    int in[2];
    if (pipe(in) != 0) return fail("cannot create a pipe");
    const pid_t pid = fork();
    if (pid < 0) {
      close(in[0]);
      close(in[1]);
      return fail("cannot fork");
    }
    if (pid == 0) {
      dup2(in[0], 0);
      close(in[0]);
      close(in[1]);
      setenv("FS_ALERT_STREAM", a.stream.c_str(), 1);
      setenv("FS_ALERT_RULE", a.rule.c_str(), 1);
      setenv("FS_ALERT_SCORE", std::to_string(a.score).c_str(), 1);
      setenv("FS_ALERT_SNAPSHOT", a.snapshot_path.c_str(), 1);
      execl("/bin/sh", "sh", "-c", cmd_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    // A command that does not read its stdin must not kill us with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    std::size_t off = 0;
    while (off < body.size()) {
      const ssize_t n = write(in[1], body.data() + off, body.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    close(in[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    return fail("exited with status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }

 private:
  bool fail(const std::string& why) {
    ++failures_;
    FS_LOG_WARN("alert command: " << why);
    return false;
  }
  std::string cmd_;
};

}  // namespace

std::unique_ptr<AlertDelivery> make_alert_command(std::string command) {
  return std::make_unique<AlertCommand>(std::move(command));
}

}  // namespace framescribe::sinks
