# serve's video tests (included from tests/CMakeLists.txt; paths relative to tests/): the
# video_url expander, the summaries job API over HTTP with curl, the page in Chromium.
framescribe_add_cli_test(serve_video_test
  SOURCES serve/video_part_test.cpp serve/video_test_util.cpp
  LIBS framescribe_serve framescribe_http framescribe_pipeline framescribe_inference
       nlohmann_json::nlohmann_json Threads::Threads
  LABELS serve)
