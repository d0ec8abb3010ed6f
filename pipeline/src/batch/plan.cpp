// Input expansion, output layout and sharding of a batch.
#include "framescribe/pipeline/batch/plan.h"

#include <glob.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/prompt_template.h"

namespace framescribe::pipeline::batch {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const SourceMark& mark, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, format_mark(mark, what));
}

fs::path resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

bool is_url(const std::string& s) {
  return s.find("://") != std::string::npos;
}

std::vector<std::string> run_glob(const std::string& pattern, const SourceMark& mark) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      std::error_code ec;
      if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  if (rc == GLOB_ABORTED) fail(mark, "glob '" + pattern + "': a directory could not be read");
  if (rc == GLOB_NOSPACE) fail(mark, "glob '" + pattern + "': out of memory");
  if (out.empty()) fail(mark, "glob '" + pattern + "' matches no file");
  return out;  // glob(3) sorts
}

struct Entry {
  std::string input;
  bool url = false;
};

void add_one(const std::string& value, const fs::path& base, const SourceMark& mark,
             std::vector<Entry>& out) {
  if (is_url(value)) {
    out.push_back({value, true});
  } else if (value.find_first_of("*?[") != std::string::npos) {
    for (std::string& p : run_glob(resolve(base, value).string(), mark)) out.push_back({p, false});
  } else {
    const fs::path p = resolve(base, value);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      fail(mark, "input '" + p.string() + "' is not a readable file");
    out.push_back({p.string(), false});
  }
}

std::vector<Entry> expand_input(const InputSpec& in, const fs::path& base) {
  std::vector<Entry> out;
  if (in.kind != InputSpec::Kind::kManifest) {
    add_one(in.value, base, in.mark, out);
    return out;
  }
  const fs::path manifest = resolve(base, in.value);
  std::ifstream f(manifest);
  std::error_code ec;
  if (!f.good() || fs::is_directory(manifest, ec))
    fail(in.mark, "manifest '" + manifest.string() + "' cannot be read");
  int line_no = 0;
  for (std::string line; std::getline(f, line);) {
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string::npos && !is_url(line))
      line.resize(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    SourceMark m{
        manifest.string(), line_no, static_cast<int>(b) + 1,
        in.mark.key_path + " (from " + in.mark.file + ":" + std::to_string(in.mark.line) + ")"};
    add_one(line.substr(b, e - b + 1), manifest.parent_path(), m, out);
  }
  if (out.empty()) fail(in.mark, "manifest '" + manifest.string() + "' lists no input");
  return out;
}

std::string url_stem(const std::string& url) {
  std::string path = url.substr(url.find("://") + 3);
  if (const auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  const auto slash = path.find('/');
  path = slash == std::string::npos ? std::string() : path.substr(slash);
  std::string stem = fs::path(path).stem().string();
  return stem.empty() ? "video" : stem;
}

}  // namespace

std::vector<BatchVideo> expand_videos(const JobFile& job) {
  std::vector<BatchVideo> all;
  std::map<std::string, std::string> taken;  // out_dir/stem -> identity
  for (const JobSpec& spec : job.jobs) {
    std::set<std::string> seen;
    for (const InputSpec& in : spec.inputs) {
      for (const Entry& e : expand_input(in, job.base_dir)) {
        BatchVideo v;
        v.job = spec.name;
        v.is_url = e.url;
        std::error_code ec;
        v.input = e.url ? e.input : fs::weakly_canonical(e.input, ec).string();
        if (v.input.empty()) v.input = e.input;
        v.identity = spec.name + "\n" + v.input;
        if (!seen.insert(v.identity).second) continue;
        v.spec = &spec;
        v.index = static_cast<std::int64_t>(all.size());
        const fs::path p(v.input);
        v.stem = e.url ? url_stem(v.input) : p.stem().string();
        if (v.stem.empty()) v.stem = "video";
        const TemplateVars vars = {
            {"out", job.batch.out},
            {"job", spec.name},
            {"stem", v.stem},
            {"name", e.url ? v.stem : p.filename().string()},
            {"parent", e.url ? std::string("url") : p.parent_path().filename().string()},
            {"index", std::to_string(v.index)}};
        v.out_dir =
            fs::path(expand_template(spec.settings.outputs.layout, vars)).lexically_normal();
        const std::string key = (v.out_dir / v.stem).string();
        if (auto [it, fresh] = taken.emplace(key, v.input); !fresh)
          fail(in.mark, "'" + v.input + "' and '" + it->second + "' would both write " + key +
                            ".*; put {parent} or {index} in outputs.layout");
        all.push_back(std::move(v));
      }
    }
  }
  return all;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  try {
    FS_CHECK(slash != std::string::npos, kInvalidArgument, "");
    std::size_t a = 0, b = 0;
    s.index = std::stoi(text.substr(0, slash), &a);
    s.count = std::stoi(text.substr(slash + 1), &b);
    FS_CHECK(a == slash && b == text.size() - slash - 1, kInvalidArgument, "");
  } catch (const std::exception&) {
    FS_FAIL(kInvalidArgument, "--shard '" << text << "': expected I/N, e.g. 0/4");
  }
  FS_CHECK(s.count >= 1 && s.count <= 10000 && s.index >= 0 && s.index < s.count, kInvalidArgument,
           "--shard '" << text << "': need 0 <= I < N <= 10000");
  return s;
}

Shard resolve_shard(const std::string& cli, int cli_count, const char* (*getenv_fn)(const char*)) {
  if (!cli.empty()) return parse_shard(cli);
  auto env = [&](const char* name) -> const char* {
    const char* v = getenv_fn != nullptr ? getenv_fn(name) : std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  auto number = [](const char* name, const char* v) {
    try {
      std::size_t used = 0;
      const int n = std::stoi(v, &used);
      FS_CHECK(used == std::string(v).size(), kInvalidArgument, "");
      return n;
    } catch (const std::exception&) {
      FS_FAIL(kInvalidArgument, name << "='" << v << "' is not a number");
    }
  };
  if (const char* id = env("SLURM_ARRAY_TASK_ID")) {
    const char* count = env("SLURM_ARRAY_TASK_COUNT");
    FS_CHECK(count != nullptr, kInvalidArgument,
             "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N");
    int index = number("SLURM_ARRAY_TASK_ID", id);
    if (const char* min = env("SLURM_ARRAY_TASK_MIN")) index -= number("SLURM_ARRAY_TASK_MIN", min);
    return parse_shard(std::to_string(index) + "/" +
                       std::to_string(number("SLURM_ARRAY_TASK_COUNT", count)));
  }
  if (const char* id = env("JOB_COMPLETION_INDEX")) {
    FS_CHECK(cli_count > 0, kInvalidArgument,
             "JOB_COMPLETION_INDEX is set: pass --shards N (the Job's completions)");
    return parse_shard(std::to_string(number("JOB_COMPLETION_INDEX", id)) + "/" +
                       std::to_string(cli_count));
  }
  FS_CHECK(cli_count <= 1, kInvalidArgument,
           "--shards " << cli_count << " needs JOB_COMPLETION_INDEX; or pass --shard I/N");
  return {};
}

std::uint64_t identity_hash(const std::string& identity) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64: stable across builds and machines
  for (unsigned char c : identity) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool in_shard(const BatchVideo& video, const Shard& shard) {
  return identity_hash(video.identity) % static_cast<std::uint64_t>(shard.count) ==
         static_cast<std::uint64_t>(shard.index);
}

fs::path shard_file(const fs::path& base, const Shard& shard) {
  if (shard.count <= 1) return base;
  fs::path p = base;
  p.replace_filename(base.stem().string() + "-shard-" + std::to_string(shard.index) + "-of-" +
                     std::to_string(shard.count) + base.extension().string());
  return p;
}

}  // namespace framescribe::pipeline::batch
