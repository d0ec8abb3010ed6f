# YAML batch jobs, state, shards, search: the batch pieces of this module (included from its CMakeLists.txt).
# Included from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
if(TARGET yaml-cpp::yaml-cpp)
  set(FS_YAML_CPP yaml-cpp::yaml-cpp)
else()
  set(FS_YAML_CPP yaml-cpp)
endif()
# The job-file parser, input expansion, sharding, configs/ and deploy/ examples.
framescribe_add_test(batch_config_test
  SOURCES batch/job_config_test.cpp batch/job_run_test.cpp batch/recommended_test.cpp
  LIBS framescribe_pipeline framescribe_decoder ${FS_YAML_CPP} SQLite::SQLite3 LABELS unit)
# The state file, the runner with a scripted engine, the search index and search().
framescribe_add_test(batch_state_test
  SOURCES batch/state_store_test.cpp batch/batch_runner_test.cpp
  LIBS framescribe_pipeline framescribe_sinks SQLite::SQLite3 Threads::Threads LABELS unit)
if(FRAMESCRIBE_BUILD_APPS)
  # `framescribe batch` / `search` end to end: --check messages, shards, SIGKILL and rerun;
  # --parallel N batched, one call at a time and one video at a time write the same files.
  framescribe_add_cli_test(batch_cli_test
    SOURCES batch/batch_cli_test.cpp batch/batch_cli_shared_test.cpp apps/tiny_model.cpp
            decoder/video_clips.cpp
            decoder/image_test_util.cpp
    LIBS framescribe_decoder framescribe_inference SQLite::SQLite3 PkgConfig::CPP_HTTPLIB
         nlohmann_json::nlohmann_json
         Threads::Threads
    LABELS integration)
endif()
