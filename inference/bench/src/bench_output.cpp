// Printing the engine benchmark: the table's lines and the JSON report.
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "framescribe/bench/engine_bench.h"
#include "framescribe/core/error.h"

namespace framescribe::bench {

std::string format_bench_row(const BenchRow& r) {
  char buf[512];
  std::string line;
  auto fmt = [&](const char* f, double v) {
    std::snprintf(buf, sizeof buf, f, v);
    return std::string(buf);
  };
  std::snprintf(buf, sizeof buf, "%-20s ", r.name.c_str());
  line = buf;
  if (!r.value) {
    std::snprintf(buf, sizeof buf, "%10s %-9s", "-", r.unit.c_str());
    return line + buf + "  " + r.note;
  }
  std::snprintf(buf, sizeof buf, "%10.4g %-9s", *r.value, r.unit.c_str());
  line += buf;
  line += r.transformers ? fmt("  transformers %8.4g", *r.transformers) +
                               fmt(" (x%.2f)", *r.value / *r.transformers)
                         : std::string("  transformers      n/a        ");
  line += r.floor ? fmt("  floor %9.4g", *r.floor) + fmt(" (x%.1f)", *r.value / *r.floor)
                  : std::string("  floor       n/a       ");
  if (!r.note.empty()) line += "  " + r.note;
  return line;
}

std::string bench_report_json(const EngineBenchReport& rep) {
  nlohmann::ordered_json j;
  j["card"] = rep.device;  // tools/device/check.sh reads this name
  j["backend"] = rep.backend;
  j["weights"] = rep.weights;
  j["model"] = rep.model;
  j["real_size"] = rep.real_size;
  j["load_s"] = rep.load_s;
  j["rows"] = nlohmann::ordered_json::array();
  auto opt = [](const std::optional<double>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  for (const BenchRow& r : rep.rows) {
    nlohmann::ordered_json row;
    row["name"] = r.name;
    row["unit"] = r.unit;
    row["value"] = opt(r.value);
    row["transformers"] = opt(r.transformers);
    row["floor"] = opt(r.floor);
    row["vs_transformers"] =
        opt(r.value && r.transformers ? std::optional<double>(*r.value / *r.transformers)
                                      : std::nullopt);
    row["vs_floor"] =
        opt(r.value && r.floor ? std::optional<double>(*r.value / *r.floor) : std::nullopt);
    row["note"] = r.note;
    row["skipped"] = r.skipped;
    j["rows"].push_back(std::move(row));
  }
  return j.dump(2) + "\n";
}

void BenchPrinter::update(const EngineBenchReport& so_far) {
  if (!header_) {
    header_ = true;
    std::fprintf(table_, "framescribe bench engine: %s (%s), %s, %s weights; loaded in %.1f s\n",
                 so_far.device.c_str(), so_far.backend.c_str(), so_far.model.c_str(),
                 so_far.weights.c_str(), so_far.load_s);
    std::fprintf(table_, "%-20s %10s %-9s  (transformers: H200, docs/device.md; x = ours/theirs)\n",
                 "row", "ours", "unit");
  }
  for (; printed_ < so_far.rows.size(); ++printed_)
    std::fprintf(table_, "%s\n", format_bench_row(so_far.rows[printed_]).c_str());
  std::fflush(table_);
  if (!json_file_.empty() && json_file_ != "-") {
    std::ofstream f(json_file_);
    f << bench_report_json(so_far);
    FS_CHECK(f.good(), kIo, json_file_ << ": cannot write the results");
  }
}

}  // namespace framescribe::bench
