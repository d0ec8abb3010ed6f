// sinks::sha256_file: the checksums the batch state keeps for every output (FIPS 180-2 test
// vectors), and a clear error for a file that cannot be read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/sinks/checksum.h"

namespace framescribe::sinks {
namespace {

namespace fs = std::filesystem;

fs::path write_temp(const std::string& name, const std::string& bytes) {
  const fs::path p = fs::temp_directory_path() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

TEST(Sha256File, KnownVectors) {
  const fs::path abc = write_temp("fs-sha256-abc.txt", "abc");
  EXPECT_EQ(sha256_file(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const fs::path empty = write_temp("fs-sha256-empty.txt", "");
  EXPECT_EQ(sha256_file(empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Larger than the 1 MiB read buffer: the chunks add up to the digest of the whole.
  const fs::path big = write_temp("fs-sha256-big.bin", std::string((1 << 20) + 3, 'a'));
  EXPECT_EQ(sha256_file(big).size(), 64u);
  EXPECT_NE(sha256_file(big),
            sha256_file(write_temp("fs-sha256-big2.bin", std::string(1 << 20, 'a'))));
  fs::remove(abc);
  fs::remove(empty);
  fs::remove(big);
  fs::remove(fs::temp_directory_path() / "fs-sha256-big2.bin");
}

TEST(Sha256File, AMissingFileIsAnIoErrorNamingIt) {
  try {
    (void)sha256_file("/nonexistent/fs-sha256.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fs-sha256.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace framescribe::sinks
