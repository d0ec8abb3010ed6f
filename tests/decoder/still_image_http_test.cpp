// Image URLs against an in-process cpp-httplib server on 127.0.0.1 (ephemeral port): the same
// pixels as the file, redirects, 404, a redirect loop, a slow server (timeout), a huge body
// (size cap, with and without Content-Length), a redirect to another scheme, and credentials
// that never reach an error message.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "decoder/image_test_util.h"
#include "framescribe/core/error.h"
#include "framescribe/decoder/still_image.h"
#include "inference/test_files.h"

namespace framescribe::decoder {
namespace {

using namespace std::chrono_literals;

class StillImageHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = dir_ / "q.png";
    ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(32, 16), 32, 16, "rgb24", path));
    png_ = testing::file_bytes(path);
    file_ = path.string();
    auto& s = http_.server();
    s.Get("/q.png", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(png_.begin(), png_.end()), "image/png");
    });
    s.Get("/moved",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/q.png"); });
    s.Get("/loop",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    s.Get("/to-ftp", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("ftp://127.0.0.1/q.png");
    });
    s.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd");
    });
    s.Get("/page.html", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><body>hello</body></html>", "text/html");
    });
    s.Get("/empty", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("", "image/png");
    });
    s.Get("/forbidden", [](const httplib::Request&, httplib::Response& res) { res.status = 403; });
    // Waits (bounded, and not past the server's stop) before answering.
    s.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      for (int i = 0; i < 50 && !http_.stopping(); ++i) std::this_thread::sleep_for(20ms);
      res.set_content(std::string(png_.begin(), png_.end()), "image/png");
    });
    // 64 MiB, streamed without a Content-Length (chunked): only the running count can stop it.
    s.Get("/huge", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("image/png",
                                       [this](std::size_t offset, httplib::DataSink& sink) {
                                         static const std::string block(64 * 1024, 'x');
                                         if (offset >= (64u << 20) || http_.stopping()) {
                                           sink.done();
                                           return true;
                                         }
                                         return sink.write(block.data(), block.size());
                                       });
    });
    // The same size announced in Content-Length: refused before the body.
    s.Get("/huge-length", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(64u << 20, "image/png",
                               [](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                 static const std::string block(64 * 1024, 'x');
                                 (void)offset;
                                 return sink.write(block.data(), std::min(length, block.size()));
                               });
    });
    http_.start();
  }

  testing::TempDir dir_;
  std::vector<std::uint8_t> png_;
  std::string file_;
  // Last: destroyed (stopped and joined) first, while the handlers' data still exists.
  testing::LocalHttpServer http_{std::chrono::seconds(60)};
};

template <typename F>
std::string error_of(F&& f, ErrorCode code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error, expected " << to_string(code);
  return "";
}

bool same_pixels(const core::Image& a, const core::Image& b) {
  return a.width_px() == b.width_px() && a.height_px() == b.height_px() &&
         a.format() == b.format() &&
         std::memcmp(a.data(), b.data(), a.stride_bytes() * a.height_px()) == 0;
}

TEST_F(StillImageHttp, UrlGivesTheSamePixelsAsTheFile) {
  const core::Image from_file = load_image(file_);
  EXPECT_TRUE(same_pixels(load_image(http_.url("/q.png")), from_file));
  EXPECT_TRUE(same_pixels(load_image(http_.url("/moved")), from_file));  // one redirect
  EXPECT_EQ(read_image_bytes(http_.url("/q.png")), png_);
}

TEST_F(StillImageHttp, RedirectLimit) {
  StillImageOptions none;
  none.max_redirects = 0;
  std::string msg = error_of([&] { load_image(http_.url("/moved"), none); }, ErrorCode::kIo);
  EXPECT_NE(msg.find("redirect"), std::string::npos) << msg;
  msg = error_of([&] { load_image(http_.url("/loop")); }, ErrorCode::kIo);
  EXPECT_NE(msg.find("more than 5 redirects"), std::string::npos) << msg;
  EXPECT_NE(msg.find(http_.url("/loop")), std::string::npos) << msg;
}

TEST_F(StillImageHttp, OnlyHttpAndHttpsEvenAfterARedirect) {
  for (const char* path : {"/to-ftp", "/to-file"}) {
    std::string msg = error_of([&] { load_image(http_.url(path)); }, ErrorCode::kUnsupported);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
}

TEST_F(StillImageHttp, HttpErrors) {
  std::string msg =
      error_of([&] { load_image(http_.url("/nothing-here.png")); }, ErrorCode::kNotFound);
  EXPECT_NE(msg.find("404"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nothing-here.png"), std::string::npos) << msg;
  msg = error_of([&] { load_image(http_.url("/forbidden")); }, ErrorCode::kIo);
  EXPECT_NE(msg.find("403"), std::string::npos) << msg;
  msg = error_of([&] { load_image(http_.url("/page.html")); }, ErrorCode::kInvalidArgument);
  EXPECT_NE(msg.find("not an image"), std::string::npos) << msg;
  error_of([&] { load_image(http_.url("/empty")); }, ErrorCode::kInvalidArgument);
}

TEST_F(StillImageHttp, SlowServerTimesOut) {
  StillImageOptions quick;
  quick.total_timeout_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  std::string msg = error_of([&] { load_image(http_.url("/slow"), quick); }, ErrorCode::kIo);
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/slow"), std::string::npos) << msg;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(StillImageHttp, SizeCap) {
  StillImageOptions capped;
  capped.max_bytes = 1 << 20;
  for (const char* path : {"/huge", "/huge-length"}) {
    std::string msg =
        error_of([&] { load_image(http_.url(path), capped); }, ErrorCode::kInvalidArgument);
    EXPECT_NE(msg.find("limit of 1048576 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
}

TEST_F(StillImageHttp, CredentialsNeverAppearInMessages) {
  const std::string url = "http://alice:s3cr3t-pw@127.0.0.1:" + std::to_string(http_.port());
  for (const std::string path : {"/nothing-here.png", "/loop", "/page.html", "/to-ftp"}) {
    try {
      load_image(url + path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find("s3cr3t"), std::string::npos) << msg;
      EXPECT_EQ(msg.find("alice"), std::string::npos) << msg;
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
    }
  }
  // A refused connection (nothing listens on port 1) names the host, not the password.
  std::string msg =
      error_of([&] { load_image("http://bob:hunter2@127.0.0.1:1/x.png"); }, ErrorCode::kIo);
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:1/x.png"), std::string::npos) << msg;
}

}  // namespace
}  // namespace framescribe::decoder
