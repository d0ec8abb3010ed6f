#include "apps/cli_run.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace framescribe::testing {
namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

CliRun run_framescribe(const std::vector<std::string>& args,
                       const std::filesystem::path& err_file) {
  std::string cmd = quote(FS_FRAMESCRIBE_BIN);
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " 2>" + quote(err_file.string());
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  for (std::size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::ostringstream err;
  err << in.rdbuf();
  r.err = err.str();
  return r;
}

}  // namespace framescribe::testing
