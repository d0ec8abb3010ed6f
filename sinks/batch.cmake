# YAML batch jobs, state, shards, search: the batch pieces of this module (included from its CMakeLists.txt).
# The search index of a batch: every event in SQLite with an FTS5 index, and search(); the
# outputs' SHA-256 checksums.
find_package(SQLite3 REQUIRED)
target_sources(framescribe_sinks PRIVATE src/search_index.cpp src/checksum.cpp)
target_link_libraries(framescribe_sinks PRIVATE SQLite::SQLite3)
