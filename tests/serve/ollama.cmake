# The Ollama dialect and the real-client tests of `framescribe serve` (included from
# tests/CMakeLists.txt inside `if(FRAMESCRIBE_BUILD_TESTS AND FRAMESCRIBE_WITH_FFMPEG)`).
# The JSON translation of the Ollama endpoints (serve/src/ollama_json.h, private to serve).
# And the embedded OpenAPI document (serve/openapi, serve/src/openapi.h).
framescribe_add_test(ollama_json_test
  SOURCES serve/ollama_json_test.cpp serve/ollama_openapi_test.cpp
  LIBS framescribe_serve nlohmann_json::nlohmann_json LABELS unit)
target_include_directories(ollama_json_test PRIVATE ${PROJECT_SOURCE_DIR}/serve/src)
