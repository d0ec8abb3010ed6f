# serve's video tests (included from tests/CMakeLists.txt; paths relative to tests/): the
# video_url expander, the summaries job API over HTTP with curl, the page in Chromium.
framescribe_add_cli_test(serve_video_test
  SOURCES serve/video_part_test.cpp serve/video_jobs_test.cpp serve/video_url_test.cpp
          serve/video_parallel_test.cpp
          serve/video_test_util.cpp serve/serve_test_support.cpp decoder/image_test_util.cpp
  LIBS framescribe_serve framescribe_http framescribe_pipeline framescribe_pixtral
       framescribe_decoder framescribe_inference PkgConfig::FFMPEG PkgConfig::CPP_HTTPLIB
       nlohmann_json::nlohmann_json Threads::Threads
  LABELS serve)

# The page in headless Chromium (Playwright from PyPI, pinned, in a venv under the build tree;
# Debian's /usr/bin/chromium, no browser download): a screenshot and a real upload.
add_executable(video_page_server serve/video_page_server.cpp serve/video_test_util.cpp
                                 serve/serve_test_support.cpp decoder/image_test_util.cpp
                                 apps/cli_run.cpp)
target_include_directories(video_page_server PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(video_page_server PRIVATE framescribe_serve framescribe_http
                      framescribe_decoder framescribe_inference PkgConfig::FFMPEG
                      nlohmann_json::nlohmann_json GTest::gtest Threads::Threads)
target_compile_definitions(video_page_server PRIVATE FS_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           FS_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data"
                           FS_FRAMESCRIBE_BIN="$<TARGET_FILE:framescribe>")
framescribe_warnings(video_page_server)
find_package(Python3 3.11 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  set(_fs_web_venv ${CMAKE_CURRENT_BINARY_DIR}/serve-web-venv)
  add_test(NAME serve_web_venv
    COMMAND bash ${PROJECT_SOURCE_DIR}/tools/python-venv.sh ${Python3_EXECUTABLE}
            ${_fs_web_venv} ${CMAKE_CURRENT_SOURCE_DIR}/serve/web/requirements.txt serve-web)
  set_tests_properties(serve_web_venv PROPERTIES FIXTURES_SETUP serve_web_venv LABELS serve
                       TIMEOUT 600)
  add_test(NAME serve_page_chromium
    COMMAND ${_fs_web_venv}/bin/python ${CMAKE_CURRENT_SOURCE_DIR}/serve/web/page_test.py
            --server $<TARGET_FILE:video_page_server>
            --clip ${PROJECT_SOURCE_DIR}/samples/shapes-demo.mp4
            --artifacts ${CMAKE_CURRENT_BINARY_DIR}/serve-page-artifacts)
  set_tests_properties(serve_page_chromium PROPERTIES FIXTURES_REQUIRED serve_web_venv
                       LABELS serve TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
