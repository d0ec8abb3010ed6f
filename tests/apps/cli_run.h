// Runs the built framescribe binary (path from the FS_FRAMESCRIBE_BIN compile definition) with
// arguments, capturing stdout, stderr and the exit code, as a user's shell would.
#pragma once

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

}  // namespace framescribe::testing
