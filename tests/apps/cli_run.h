// Runs the built framescribe binary (path from the FS_FRAMESCRIBE_BIN compile definition) with
// arguments, capturing stdout, stderr and the exit code, as a user's shell would.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace framescribe::testing {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// stderr goes through `err_file` (a scratch path the caller owns).
CliRun run_framescribe(const std::vector<std::string>& args, const std::filesystem::path& err_file);

// Starts the binary without waiting (for tests that kill it): stdout to `out_file`, stderr to
// `err_file` (empty: into `out_file` too). Returns the pid, or -1.
pid_t spawn_framescribe(const std::vector<std::string>& args, const std::filesystem::path& out_file,
                        const std::filesystem::path& err_file = {});
// Waits for a spawned run: its exit code, or 128 + the signal that ended it; its peak RSS in
// KiB if `max_rss_kib` is given.
int wait_framescribe(pid_t pid, long* max_rss_kib = nullptr);

}  // namespace framescribe::testing
