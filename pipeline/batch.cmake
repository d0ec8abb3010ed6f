# YAML batch jobs, state, shards, search: the batch pieces of this module (included from its CMakeLists.txt).
# Job files (yaml-cpp), input expansion and sharding, the SQLite state file, the batch runner.
target_sources(framescribe_pipeline PRIVATE
  src/batch/job_config.cpp
  src/batch/plan.cpp
  src/batch/job_run.cpp
  src/batch/state_store.cpp
  src/batch/batch_runner.cpp
  src/batch/recommended.cpp)
# Debian's yaml-cpp 0.7 exports the target as `yaml-cpp` (0.8 adds yaml-cpp::yaml-cpp).
if(TARGET yaml-cpp::yaml-cpp)
  target_link_libraries(framescribe_pipeline PRIVATE yaml-cpp::yaml-cpp)
else()
  target_link_libraries(framescribe_pipeline PRIVATE yaml-cpp)
endif()
target_link_libraries(framescribe_pipeline PRIVATE SQLite::SQLite3)
