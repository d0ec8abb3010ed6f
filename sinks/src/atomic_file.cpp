// Temporary file + rename (POSIX): the rename is atomic within one directory, which is why the
// temporary file lives beside the target and not in /tmp.
#include "framescribe/sinks/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::sinks {
namespace {

std::atomic<unsigned> g_temp_counter{0};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// The directory entry of the rename is durable only once the directory itself is synced. A
// failure here is logged, not thrown: the new file is already complete and in place.
void sync_directory(const std::filesystem::path& dir) noexcept {
  const std::string name = dir.empty() ? std::string(".") : dir.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    FS_LOG_WARN(name << ": fsync of the directory failed: " << errno_text(errno));
  }
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  FS_CHECK(!target_.filename().empty(), kInvalidArgument,
           target_.string() << ": an output file needs a file name, not a directory");
  const std::filesystem::path dir = target_.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    FS_CHECK(!ec, kIo,
             target_.string() << ": cannot create the directory " << dir.string() << ": "
                              << ec.message() << "; choose an output directory you can write to");
  }
  const std::string suffix =
      ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter.fetch_add(1));
  temp_ = target_;
  temp_ += suffix;
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  FS_CHECK(fd >= 0, kIo,
           target_.string() << ": cannot create the temporary file " << temp_.string() << ": "
                            << errno_text(errno) << "; is the directory writable?");
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp_.c_str());
    FS_FAIL(kIo, target_.string() << ": cannot open " << temp_.string() << ": " << errno_text(err));
  }
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::write(std::string_view bytes) {
  FS_ASSERT(file_ != nullptr);
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    const int err = errno;
    FS_FAIL(kIo, target_.string() << ": cannot write " << temp_.string() << ": " << errno_text(err)
                                  << " (disk full?)");
  }
}

void AtomicFile::flush() {
  FS_ASSERT(file_ != nullptr);
  if (std::fflush(file_) != 0) {
    const int err = errno;
    FS_FAIL(kIo, target_.string() << ": cannot write " << temp_.string() << ": " << errno_text(err)
                                  << " (disk full?)");
  }
}

void AtomicFile::commit() {
  FS_ASSERT(file_ != nullptr);
  // On any failure below the temporary file is removed (the target keeps its old content).
  const auto fail = [this](const char* what, int err) {
    discard();
    FS_FAIL(kIo, target_.string() << ": " << what << " " << temp_.string()
                                  << " failed: " << errno_text(err));
  };
  if (std::fflush(file_) != 0) fail("writing", errno);
  if (::fsync(::fileno(file_)) != 0 && errno != EINVAL) fail("fsync of", errno);
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) {
    const int err = errno;
    ::unlink(temp_.c_str());
    FS_FAIL(kIo,
            target_.string() << ": closing " << temp_.string() << " failed: " << errno_text(err));
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_.c_str());
    FS_FAIL(kIo, target_.string() << ": cannot rename " << temp_.string()
                                  << " over it: " << errno_text(err));
  }
  sync_directory(target_.parent_path());
}

void AtomicFile::discard() noexcept {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  ::unlink(temp_.c_str());
}

}  // namespace framescribe::sinks
