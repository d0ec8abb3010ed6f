# The Pixtral glue (pipeline/pixtral): coster, window prompts, carried text, prompt dumps
# (included from tests/CMakeLists.txt; paths relative to tests/). Fixture A's tiny model on the
# CPU engine; no media or app sources.
framescribe_add_test(pixtral_window_engine_test
  SOURCES pixtral/window_engine_test.cpp inference/tiny_tokenizer.cpp
  LIBS framescribe_pixtral framescribe_pipeline nlohmann_json::nlohmann_json
  LABELS unit)
# Loading the window engine from a model folder (the demo model; dummy weights).
framescribe_add_test(pixtral_load_test
  SOURCES pixtral/load_window_engine_test.cpp
  LIBS framescribe_pixtral framescribe_pipeline
  LABELS unit)
# Reuse (issue 24): forked alert questions bit for bit, the frame cache, the shared prefix
# (its private header, pipeline/pixtral/src/shared_prefix.h, is tested directly).
framescribe_add_test(pixtral_reuse_test
  SOURCES pixtral/reuse_test.cpp inference/tiny_tokenizer.cpp
  LIBS framescribe_pixtral framescribe_pipeline
  LABELS unit)
target_include_directories(pixtral_reuse_test PRIVATE ${PROJECT_SOURCE_DIR}/pipeline/pixtral/src)
# Prompt-prefix reuse (issue 24): the demo model on frames FFmpeg decodes from the samples.
framescribe_add_test(pixtral_prefix_reuse_test
  SOURCES pixtral/prefix_reuse_test.cpp
  LIBS framescribe_pixtral framescribe_pipeline framescribe_decoder
  LABELS unit)
# A live job with frames prefilled ahead ("hopping" windows) on the demo model and decoded frames.
framescribe_add_test(pixtral_live_prefill_test
  SOURCES pixtral/live_prefill_test.cpp
  LIBS framescribe_pixtral framescribe_pipeline framescribe_decoder
  LABELS unit)
# Several window engines as clients of one step scheduler (issue 24): each answers as alone.
framescribe_add_test(pixtral_shared_model_test
  SOURCES pixtral/shared_model_test.cpp inference/tiny_tokenizer.cpp
  LIBS framescribe_pixtral framescribe_pipeline Threads::Threads
  LABELS unit)
# Approximate reuse (issue 24, opt-in): shifted KV on sliding windows, exact fallbacks.
framescribe_add_test(pixtral_approx_reuse_test
  SOURCES pixtral/approx_reuse_test.cpp
  LIBS framescribe_pixtral framescribe_pipeline framescribe_decoder
  LABELS unit)
