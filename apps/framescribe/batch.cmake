# YAML batch jobs, state, shards, search: the batch pieces of this module (included from its CMakeLists.txt).
