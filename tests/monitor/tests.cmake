# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# Monitor tests (included from tests/CMakeLists.txt; paths relative to tests/). Every test that
# talks to the RTSP server has a TIMEOUT: a hang fails instead of stalling CI.
add_library(framescribe_rtsp_test_server STATIC monitor/rtsp_server.cpp)
target_include_directories(framescribe_rtsp_test_server PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(framescribe_rtsp_test_server
  PUBLIC PkgConfig::GST_RTSP_SERVER PkgConfig::GSTREAMER framescribe_decoder)

framescribe_add_test(monitor_gst_source_test
  SOURCES monitor/gst_source_test.cpp monitor/hls_source_test.cpp
  LIBS framescribe_decoder framescribe_rtsp_test_server PkgConfig::CPP_HTTPLIB Threads::Threads
  LABELS rtsp)
framescribe_add_test(monitor_live_test
  SOURCES monitor/alert_rule_test.cpp monitor/live_job_test.cpp monitor/live_runner_test.cpp
          monitor/alert_delivery_test.cpp monitor/monitor_outputs_test.cpp
          monitor/monitor_config_test.cpp monitor/http_policy_test.cpp monitor/status_page_test.cpp
  LIBS framescribe_pipeline framescribe_sinks framescribe_http PkgConfig::CPP_HTTPLIB
       nlohmann_json::nlohmann_json Threads::Threads
  LABELS unit)
# Latency with an engine 3x slower than real time, on a real RTSP stream: 60 s routinely (rtsp),
# 10 minutes in CI (soak).
framescribe_add_test(monitor_latency_test
  SOURCES monitor/latency_test.cpp
  LIBS framescribe_decoder framescribe_pipeline framescribe_rtsp_test_server Threads::Threads
  LABELS rtsp)
target_compile_definitions(monitor_latency_test PRIVATE FS_LATENCY_SECONDS=60)
framescribe_add_test(monitor_soak_test
  SOURCES monitor/latency_test.cpp
  LIBS framescribe_decoder framescribe_pipeline framescribe_rtsp_test_server Threads::Threads
  LABELS soak)
target_compile_definitions(monitor_soak_test PRIVATE FS_LATENCY_SECONDS=600)

# GLib/GStreamer keep start-up allocations for the life of the process: LeakSanitizer is told
# (monitor/lsan.supp) for the tests that start GStreamer.
set(_fs_lsan "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/monitor/lsan.supp")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/monitor_test_timeouts.cmake
  "foreach(t IN LISTS monitor_live_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 60)\n"
  "endforeach()\n"
  "foreach(t IN LISTS monitor_gst_source_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 180 ENVIRONMENT \"${_fs_lsan}\")\n"
  "endforeach()\n"
  "foreach(t IN LISTS monitor_latency_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 150 ENVIRONMENT \"${_fs_lsan}\")\n"
  "endforeach()\n"
  "foreach(t IN LISTS monitor_soak_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 900 ENVIRONMENT \"${_fs_lsan}\")\n"
  "endforeach()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/monitor_test_timeouts.cmake)

# Alert scores from the model's probabilities (fixture A's tiny model on the CPU engine).
framescribe_add_test(monitor_alert_score_test
  SOURCES monitor/alert_score_test.cpp
          apps/tiny_model.cpp decoder/image_test_util.cpp inference/test_files.cpp
  LIBS framescribe_pixtral framescribe_inference framescribe_pipeline framescribe_decoder PkgConfig::FFMPEG
       PkgConfig::CPP_HTTPLIB nlohmann_json::nlohmann_json Threads::Threads
  LABELS unit)

if(FRAMESCRIBE_BUILD_APPS)
  # framescribe monitor end to end (RTSP server, tiny model, web page in Chromium, metrics).
  framescribe_add_cli_test(monitor_cli_test
    SOURCES monitor/monitor_cli_test.cpp monitor/monitor_cli_local_test.cpp
            monitor/monitor_cli_shared_test.cpp apps/tiny_model.cpp
            decoder/image_test_util.cpp decoder/video_clips.cpp
    LIBS framescribe_rtsp_test_server framescribe_decoder framescribe_inference PkgConfig::FFMPEG
         PkgConfig::CPP_HTTPLIB
         nlohmann_json::nlohmann_json Threads::Threads
    LABELS integration)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/monitor_cli_timeouts.cmake
    "foreach(t IN LISTS monitor_cli_test_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 180 ENVIRONMENT \"${_fs_lsan}\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/monitor_cli_timeouts.cmake)
endif()

# tools/soak-monitor.sh's helper: the RTSP test server as a process, and the tiny model.
add_executable(monitor_soak_helper monitor/soak_helper.cpp apps/tiny_model.cpp
               decoder/image_test_util.cpp inference/test_files.cpp)
target_include_directories(monitor_soak_helper PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(monitor_soak_helper PRIVATE framescribe_rtsp_test_server framescribe_inference
  framescribe_decoder PkgConfig::FFMPEG PkgConfig::CPP_HTTPLIB nlohmann_json::nlohmann_json
  GTest::gtest Threads::Threads)
target_compile_definitions(monitor_soak_helper PRIVATE
  FS_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data" FS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
framescribe_warnings(monitor_soak_helper)

if(FRAMESCRIBE_BUILD_APPS)
  # monitor --approximate-reuse (issue 24, opt-in): the demo model on the sample clip.
  framescribe_add_cli_test(monitor_cli_approx_test
    SOURCES monitor/monitor_cli_approx_test.cpp
    LIBS nlohmann_json::nlohmann_json LABELS integration)
  # (after its discovery file, which defines the list: include files run in order)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/monitor_cli_approx_env.cmake
    "foreach(t IN LISTS monitor_cli_approx_test_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES TIMEOUT 180 ENVIRONMENT \"${_fs_lsan}\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
               ${CMAKE_CURRENT_BINARY_DIR}/monitor_cli_approx_env.cmake)
endif()
