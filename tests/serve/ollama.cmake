# The Ollama dialect and the real-client tests of `framescribe serve` (included from
# tests/CMakeLists.txt inside `if(FRAMESCRIBE_BUILD_TESTS AND FRAMESCRIBE_WITH_FFMPEG)`).
# The JSON translation of the Ollama endpoints (serve/src/ollama_json.h, private to serve).
# And the embedded OpenAPI document (serve/openapi, serve/src/openapi.h).
framescribe_add_test(ollama_json_test
  SOURCES serve/ollama_json_test.cpp serve/ollama_openapi_test.cpp
  LIBS framescribe_serve nlohmann_json::nlohmann_json LABELS unit)
target_include_directories(ollama_json_test PRIVATE ${PROJECT_SOURCE_DIR}/serve/src)

# The real clients (tests/serve/python): OpenAI's and Ollama's official Python packages,
# schemathesis against GET /openapi.json, and hostile input over raw sockets, each against a
# `framescribe serve` it starts on 127.0.0.1 with the demo model. Their virtual environment
# lives in this build tree, made by the serve_python_venv fixture from the pinned
# requirements.txt (tools/python-venv.sh; the package registry is needed only when
# requirements.txt changes).
find_package(Python3 3.11 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR NOT FRAMESCRIBE_BUILD_APPS)
  message(STATUS "serve: no Python >= 3.11 or no apps; the serve client tests are not registered")
  return()
endif()
set(_serve_venv ${CMAKE_CURRENT_BINARY_DIR}/serve-venv)
add_test(NAME serve_python_venv
  COMMAND bash ${PROJECT_SOURCE_DIR}/tools/python-venv.sh ${Python3_EXECUTABLE}
          ${_serve_venv} ${CMAKE_CURRENT_SOURCE_DIR}/serve/python/requirements.txt serve-clients)
set_tests_properties(serve_python_venv PROPERTIES
  FIXTURES_SETUP serve_python_venv LABELS serve TIMEOUT 900)
foreach(_client openai_client ollama_client schemathesis hostile)
  add_test(NAME serve_${_client}
    COMMAND ${_serve_venv}/bin/python -m pytest -q -p no:cacheprovider -rs
            ${CMAKE_CURRENT_SOURCE_DIR}/serve/python/test_${_client}.py
            --framescribe $<TARGET_FILE:framescribe>
            --model ${PROJECT_SOURCE_DIR}/samples/models/framescribe-demo)
  set_tests_properties(serve_${_client} PROPERTIES
    FIXTURES_REQUIRED serve_python_venv LABELS serve TIMEOUT 600
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endforeach()
# Timing-sensitive (read timeouts, 200 connections, a 3-minute budget): alone on the machine.
set_tests_properties(serve_schemathesis serve_hostile PROPERTIES RUN_SERIAL TRUE)
