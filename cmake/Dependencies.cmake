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
  # Batch jobs: YAML job files, the SQLite state file and the FTS5 search index.
  find_package(yaml-cpp REQUIRED)
  find_package(SQLite3 REQUIRED)
  # Live sources: GStreamer (rtspsrc, uridecodebin, appsink); tests serve RTSP in-process.
  pkg_check_modules(GSTREAMER REQUIRED IMPORTED_TARGET gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0)
  if(FRAMESCRIBE_BUILD_TESTS)
    pkg_check_modules(GST_RTSP_SERVER REQUIRED IMPORTED_TARGET gstreamer-rtsp-server-1.0)
  endif()
endif()
