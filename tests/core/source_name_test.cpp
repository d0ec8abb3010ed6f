#include "framescribe/core/source_name.h"

#include <gtest/gtest.h>

namespace framescribe::core {
namespace {

TEST(RedactSource, RemovesUserInfoQueryValuesAndFragment) {
  EXPECT_EQ(redact_source("rtsp://admin:pw@cam/live?token=abc&ch=1#k"),
            "rtsp://cam/live?token=***&ch=***");
  EXPECT_EQ(redact_source("https://user:secret@host:8080/a@b?x=1"), "https://host:8080/a@b?x=***");
  EXPECT_EQ(redact_source("http://tok@host/x"), "http://host/x");
  EXPECT_EQ(redact_source("http://host/x@y"), "http://host/x@y");
  EXPECT_EQ(redact_source("https://h/p?secretvalue"), "https://h/p?***");
  EXPECT_EQ(redact_source("https://h/p?a=1;b=2"), "https://h/p?a=***&b=***");
  EXPECT_EQ(redact_source("https://u:p@h?k=v"), "https://h?k=***");
  EXPECT_EQ(redact_source("https://u:p@h#access_token=zz"), "https://h");
}

TEST(RedactSource, PathsAndNonUrlsAreUnchanged) {
  EXPECT_EQ(redact_source("no-url"), "no-url");
  EXPECT_EQ(redact_source("/videos/a?b=c.mp4"), "/videos/a?b=c.mp4");
  EXPECT_EQ(redact_source("dir/x://y"), "dir/x://y");  // '/' cannot be in a scheme
  EXPECT_EQ(redact_source(""), "");
}

TEST(RedactSource, NoSecretSurvivesInAnyPart) {
  const char* secret = "s3cr3t";
  for (const char* url :
       {"rtsp://s3cr3t@h/x", "rtsp://u:s3cr3t@h/x", "http://h/x?t=s3cr3t", "http://h/x?s3cr3t",
        "http://h/x?a=1&t=s3cr3t", "http://h/x#s3cr3t", "http://u:s3cr3t@h:1?a=s3cr3t#s3cr3t"}) {
    EXPECT_EQ(redact_source(url).find(secret), std::string::npos) << url;
  }
}

TEST(SourceStem, NamesFilesWithoutSecretsOrDots) {
  EXPECT_EQ(source_stem("https://host/clips/a.mp4?sig=xyz"), "a");
  EXPECT_EQ(source_stem("https://u:p@host/clips/a.mp4#t"), "a");
  EXPECT_EQ(source_stem("/videos/clip.one.mkv"), "clip.one");
  EXPECT_EQ(source_stem("clip"), "clip");
  EXPECT_EQ(source_stem("rtsp://cam1/live/"), "live");
  EXPECT_EQ(source_stem(".hidden"), ".hidden");
  EXPECT_EQ(source_stem("https://host"), "");
  EXPECT_EQ(source_stem("https://host/?token=abc"), "");
  // Names that would climb out of an output folder come back empty.
  EXPECT_EQ(source_stem("....mp4"), "");
  EXPECT_EQ(source_stem("/a/.."), "");
  EXPECT_EQ(source_stem("https://h/..."), "");
  EXPECT_EQ(source_stem("https://h/x/..?a=b"), "");
  EXPECT_EQ(source_stem("..."), "");
}

}  // namespace
}  // namespace framescribe::core
