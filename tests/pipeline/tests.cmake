# Pipeline tests (included from tests/CMakeLists.txt)
framescribe_add_test(pipeline_events_test
  SOURCES pipeline/events_test.cpp pipeline/prompt_template_test.cpp
  LIBS framescribe_pipeline LABELS unit)
# The flow graph and packing with fakes (label pipeline: CI also runs exactly these
# under ThreadSanitizer).
framescribe_add_test(pipeline_test
  SOURCES pipeline/pipeline_test.cpp pipeline/packer_test.cpp pipeline/summary_test.cpp
          pipeline/frame_fit_test.cpp pipeline/plan_report_test.cpp
          pipeline/engine_scheduler_test.cpp pipeline/progress_text_test.cpp
          pipeline/run_settings_test.cpp
  LIBS framescribe_pipeline nlohmann_json::nlohmann_json LABELS pipeline)
