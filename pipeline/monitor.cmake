# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# The live job: windows every N seconds, drop-oldest, latency, gaps, alert rules. No media or
# model library: the stream comes in through core::LiveFrameSource.
target_sources(framescribe_pipeline PRIVATE
  src/live/alert_rule.cpp
  src/live/live_job.cpp
  src/live/live_runner.cpp
  src/live/monitor_config.cpp
  src/live/live_settings.cpp)
