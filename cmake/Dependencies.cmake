# Every dependency comes from a Debian package (tools/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
# PCRE2 for the tokenizer's pre-tokenisation regex (Unicode properties, lookahead, JIT).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
if(FRAMESCRIBE_BUILD_APPS)
  find_package(CLI11 REQUIRED)
endif()
if(FRAMESCRIBE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(FRAMESCRIBE_WITH_FFMPEG)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswscale)
  find_package(CURL REQUIRED)
endif()
if(FRAMESCRIBE_WITH_FFMPEG)
  # The pipeline (TBB flow graph) and the sinks (JPEG thumbnails through libavcodec) come with the
  # media commands; the inference-only build needs neither.
  find_package(TBB REQUIRED)
endif()
