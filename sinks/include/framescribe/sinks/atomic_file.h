// A file that appears complete or not at all: bytes go to a temporary file beside the target,
// and commit() renames it over the target.
//
//   sinks::AtomicFile file("out/talk.srt");   // creates out/ and out/talk.srt.tmp-<pid>-<n>
//   file.write("1\n00:00:01,000 --> 00:00:02,000\nhello\n\n");
//   file.commit();                           // fflush, fsync, rename, fsync the directory
//   // without commit(), the destructor (or discard()) removes the temporary file
//
// Ownership: the object owns the temporary file and its FILE*; it is neither copyable nor
// movable (hold it in a std::optional or std::unique_ptr). Threads: not synchronised; one
// thread at a time. Errors: every failure throws framescribe::Error(kIo) naming the target
// (and the temporary file or directory involved); after a failed commit() the temporary file is
// gone and the target is untouched.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string_view>

namespace framescribe::sinks {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  // Hands buffered bytes to the OS, so a reader of the temporary file sees them (no fsync).
  void flush();
  // Makes the file durable and puts it in place of the target. Call at most once.
  void commit();
  // Closes and removes the temporary file; never throws. A no-op after commit().
  void discard() noexcept;

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  bool is_open() const { return file_ != nullptr; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace framescribe::sinks
