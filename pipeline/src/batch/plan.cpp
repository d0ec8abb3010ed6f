// Input expansion, output layout and sharding of a batch.
#include "framescribe/pipeline/batch/plan.h"

#include <glob.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"
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
             const InputCheck& check, std::vector<Entry>& out) {
  CheckedInput c;
  try {
    c = check(value);
  } catch (const Error& e) {
    fail(mark, e.what());
  }
  if (c.is_url) {
    out.push_back({c.location, true});
  } else if (c.location.find_first_of("*?[") != std::string::npos) {
    for (std::string& p : run_glob(resolve(base, c.location).string(), mark))
      out.push_back({p, false});
  } else {
    const fs::path p = resolve(base, c.location);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      fail(mark, "input '" + p.string() + "' is not a readable file");
    out.push_back({p.string(), false});
  }
}

std::vector<Entry> expand_input(const InputSpec& in, const fs::path& base,
                                const InputCheck& check) {
  std::vector<Entry> out;
  if (in.kind != InputSpec::Kind::kManifest) {
    add_one(in.value, base, in.mark, check, out);
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
    add_one(line.substr(b, e - b + 1), manifest.parent_path(), m, check, out);
  }
  if (out.empty()) fail(in.mark, "manifest '" + manifest.string() + "' lists no input");
  return out;
}

// The file-name stem of an input; "video" when it has no name at all; refused when its name is
// only dots (it would make "." or ".." in output paths).
std::string stem_of(const Entry& e, const std::string& display, const SourceMark& mark) {
  std::string stem = core::source_stem(e.input);
  if (!stem.empty()) return stem;
  std::string_view path = e.input;
  if (e.url) {
    path = path.substr(0, path.find_first_of("?#"));
    const auto host = path.find("://");
    const auto slash = path.find('/', host == std::string_view::npos ? 0 : host + 3);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const std::string_view last = path.substr(path.find_last_of('/') + 1);
  if (!last.empty())
    fail(mark, "'" + display + "': its name '" + std::string(last) +
                   "' is only dots, which cannot name output files; rename it");
  return "video";
}

// True when `dir` lies inside `root` (or is it): lexically, and again with the symlinks of the
// parts that exist resolved.
bool inside(const fs::path& dir, const fs::path& root) {
  auto under = [](const fs::path& d, const fs::path& r) {
    const fs::path rel = d.lexically_normal().lexically_relative(r.lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
  };
  if (!under(dir, root)) return false;
  std::error_code e1, e2;
  const fs::path real_dir = fs::weakly_canonical(fs::absolute(dir, e1), e1);
  const fs::path real_root = fs::weakly_canonical(fs::absolute(root, e2), e2);
  if (e1 || e2) return false;
  return under(real_dir, real_root);
}

// The directory a layout's outputs must stay in: {out} for a layout starting with it, else the
// directory its fixed prefix names.
fs::path layout_root(const std::string& layout, const JobFile& job) {
  if (layout.starts_with("{out}")) return fs::path(job.batch.out);
  const std::string fixed = layout.substr(0, layout.find('{'));
  fs::path root = fixed.ends_with('/') ? fs::path(fixed) : fs::path(fixed).parent_path();
  return root.empty() ? fs::path(".") : root;
}

}  // namespace

std::vector<BatchVideo> expand_videos(const JobFile& job, const InputCheck& check) {
  FS_CHECK(check, kInvalidArgument, "expand_videos needs the input check");
  std::vector<BatchVideo> all;
  std::map<std::string, std::string> taken;  // out_dir/stem -> the input's display name
  for (const JobSpec& spec : job.jobs) {
    std::set<std::string> seen;
    for (const InputSpec& in : spec.inputs) {
      for (const Entry& e : expand_input(in, job.base_dir, check)) {
        BatchVideo v;
        v.job = spec.name;
        v.is_url = e.url;
        std::error_code ec;
        v.input = e.url ? e.input : fs::weakly_canonical(e.input, ec).string();
        if (v.input.empty()) v.input = e.input;
        v.display = e.url ? core::redact_source(v.input) : v.input;
        // A URL's secrets stay out of the identity (stored in the state file); the hash of the
        // whole URL keeps URLs that differ only in them apart.
        v.identity = spec.name + "\n" + v.display;
        if (v.display != v.input) {
          char hex[17];
          std::snprintf(hex, sizeof hex, "%016llx",
                        static_cast<unsigned long long>(identity_hash(v.input)));
          v.identity += std::string("\n#") + hex;
        }
        if (!seen.insert(v.identity).second) continue;
        v.spec = &spec;
        v.index = static_cast<std::int64_t>(all.size());
        const fs::path p(v.input);
        v.stem = stem_of(e, v.display, in.mark);
        const TemplateVars vars = {
            {"out", job.batch.out},
            {"job", spec.name},
            {"stem", v.stem},
            {"name", e.url ? v.stem : p.filename().string()},
            {"parent", e.url ? std::string("url") : p.parent_path().filename().string()},
            {"index", std::to_string(v.index)}};
        v.out_dir =
            fs::path(expand_template(spec.settings.outputs.layout, vars)).lexically_normal();
        const fs::path root = layout_root(spec.settings.outputs.layout, job);
        if (!inside(v.out_dir, root))
          fail(in.mark, "'" + v.display + "' would write its outputs to " + v.out_dir.string() +
                            ", outside " + root.string() +
                            " (a name or a symlink leads out of it); check outputs.layout and "
                            "the output directory");
        const std::string key = (v.out_dir / v.stem).string();
        if (auto [it, fresh] = taken.emplace(key, v.display); !fresh)
          fail(in.mark, "'" + v.display + "' and '" + it->second + "' would both write " + key +
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
