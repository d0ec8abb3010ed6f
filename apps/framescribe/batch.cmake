# YAML batch jobs, state, shards, search: the batch pieces of this module (included from its CMakeLists.txt).
# framescribe batch (YAML jobs: state, shards, merge) and framescribe search (the FTS5 index).
target_sources(framescribe PRIVATE
  framescribe/cmd_batch.cpp
  framescribe/cmd_search.cpp
  framescribe/batch_support.cpp)
target_compile_definitions(framescribe PRIVATE FRAMESCRIBE_WITH_BATCH=1)
