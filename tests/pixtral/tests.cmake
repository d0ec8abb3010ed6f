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
