# Sink tests (included from tests/CMakeLists.txt)
# Unit (label unit): exact output of every format, the atomic-file contract, format names, the
# HTML structure and thumbnails, the private helpers (cues, base64; hence sinks/src).
framescribe_add_test(sinks_test
  SOURCES sinks/format_output_test.cpp sinks/atomic_test.cpp sinks/formats_test.cpp
          sinks/html_test.cpp sinks/internals_test.cpp sinks/sink_test_util.cpp
          sinks/jpeg_probe.cpp inference/test_files.cpp
  LIBS framescribe_sinks PkgConfig::FFMPEG nlohmann_json::nlohmann_json
  LABELS unit)
target_include_directories(sinks_test PRIVATE ${PROJECT_SOURCE_DIR}/sinks/src)
# Integration (label integration): SRT/VTT through the ffmpeg command, HTML in headless chromium.
framescribe_add_test(sinks_integration_test
  SOURCES sinks/subtitles_ffmpeg_test.cpp sinks/html_browser_test.cpp sinks/sink_test_util.cpp
          inference/test_files.cpp
  LIBS framescribe_sinks nlohmann_json::nlohmann_json
  LABELS integration)
# A hung ffmpeg or browser must fail the test, not stall the run (60 s each).
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/sinks_test_timeouts.cmake
  "foreach(t IN LISTS sinks_integration_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 60)\n"
  "endforeach()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/sinks_test_timeouts.cmake)
# `framescribe search`'s query and --video semantics, the outputs' checksums (label unit).
framescribe_add_test(search_index_test
  SOURCES sinks/search_test.cpp sinks/checksum_test.cpp sinks/search_json_test.cpp
  LIBS framescribe_sinks nlohmann_json::nlohmann_json
  LABELS unit)
