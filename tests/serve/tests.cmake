# serve tests (included from tests/CMakeLists.txt; paths relative to tests/): the OpenAI request
# parser alone, then the server over real HTTP on 127.0.0.1 with the demo model (label serve).
framescribe_add_test(serve_api_test
  SOURCES serve/serve_test_support.cpp serve/openai_json_test.cpp serve/chat_api_test.cpp
          serve/engine_gate_test.cpp
          serve/api_server_test.cpp serve/parallel_test.cpp decoder/image_test_util.cpp
  LIBS framescribe_serve framescribe_decoder framescribe_inference PkgConfig::CPP_HTTPLIB
       PkgConfig::FFMPEG nlohmann_json::nlohmann_json Threads::Threads
  LABELS serve)
if(FRAMESCRIBE_BUILD_APPS)
  # `framescribe serve` itself: the listening line, SIGINT drains, the --host rule.
  framescribe_add_cli_test(serve_cli_test
    SOURCES serve/serve_cli_test.cpp
    LIBS PkgConfig::CPP_HTTPLIB nlohmann_json::nlohmann_json Threads::Threads
    LABELS serve)
endif()
