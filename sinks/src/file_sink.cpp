#include "file_sink.h"

#include <exception>

#include "framescribe/core/error.h"

namespace framescribe::sinks {

// Only the base part is alive here: discard the file, do not call clear().
FileSink::~FileSink() {
  file_.reset();
}

void FileSink::fail(const char* when) noexcept {
  file_.reset();
  clear();
  state_ = State::kFailed;
  try {
    throw;
  } catch (const std::exception& e) {
    failure_ = e.what();
  } catch (...) {
    failure_ = target_.string() + ": " + when + " failed";
  }
}

void FileSink::begin(const core::RunInfo& run) {
  FS_ASSERT(state_ != State::kOpen);  // begin twice without finish/abort: a pipeline bug
  file_.reset();
  clear();
  failure_.clear();
  state_ = State::kIdle;
  try {
    file_ = std::make_unique<AtomicFile>(target_);
    state_ = State::kOpen;
    start(*file_, run);
  } catch (...) {
    fail("begin");
    throw;
  }
}

void FileSink::on_window(const core::WindowResult& window) {
  FS_ASSERT(state_ != State::kIdle);  // on_window before begin: a pipeline bug
  if (state_ == State::kFailed) return;
  try {
    this->window(*file_, window);
  } catch (...) {
    fail("writing a window");
    throw;
  }
}

void FileSink::finish(const core::RunEnd& end) {
  FS_ASSERT(state_ != State::kIdle);  // finish before begin: a pipeline bug
  if (state_ == State::kFailed) {
    state_ = State::kIdle;
    throw Error(ErrorCode::kIo, failure_);
  }
  try {
    this->end(*file_, end);
    file_->commit();
  } catch (...) {
    fail("finish");
    state_ = State::kIdle;
    throw;
  }
  file_.reset();
  clear();
  state_ = State::kIdle;
}

void FileSink::abort() noexcept {
  file_.reset();  // removes the temporary file
  clear();
  state_ = State::kIdle;
}

}  // namespace framescribe::sinks
