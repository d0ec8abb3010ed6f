// The state machine shared by the file sinks: begin() opens the temporary file (so a bad
// output directory fails before any work is done), finish() lets the format write what it
// buffered and commits, abort() and the destructor discard.
//
//   class SrtSink final : public FileSink {
//     void window(AtomicFile& file, const core::WindowResult& w) override;  // stream or buffer
//     void end(AtomicFile& file, const core::RunEnd& end) override;        // write the rest
//   };
//
// After an error (thrown from begin/on_window/finish) the temporary file is gone; later
// on_window() calls are ignored and finish() throws the same error again, so a caller that
// goes on to finish() or abort() after a failure is safe. Owns the AtomicFile between begin()
// and finish()/abort(). One thread at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "framescribe/core/sink.h"
#include "framescribe/sinks/atomic_file.h"

namespace framescribe::sinks {

class FileSink : public core::EventSink {
 public:
  explicit FileSink(std::filesystem::path target) : target_(std::move(target)) {}
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void begin(const core::RunInfo& run) final;
  void on_window(const core::WindowResult& window) final;
  void finish(const core::RunEnd& end) final;
  void abort() noexcept final;

  const std::filesystem::path& target() const { return target_; }

 protected:
  // Called after the temporary file exists; resets what an earlier run left.
  virtual void start(AtomicFile& file, const core::RunInfo& run) = 0;
  virtual void window(AtomicFile& file, const core::WindowResult& window) = 0;
  virtual void end(AtomicFile& file, const core::RunEnd& end) = 0;
  // Drops buffered data after an abort or a failed finish; must not throw.
  virtual void clear() noexcept {}

 private:
  enum class State { kIdle, kOpen, kFailed };
  void fail(const char* when) noexcept;

  std::filesystem::path target_;
  std::unique_ptr<AtomicFile> file_;  // set while kOpen
  State state_ = State::kIdle;
  std::string failure_;  // kFailed: the first error, repeated by finish()
};

}  // namespace framescribe::sinks
