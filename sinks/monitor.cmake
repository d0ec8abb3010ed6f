# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# Alert deliveries: JSONL log, webhook (libcurl), command; JPEG snapshots.
target_sources(framescribe_sinks PRIVATE
  src/alert_log.cpp
  src/alert_webhook.cpp
  src/alert_command.cpp
  src/alert_queue.cpp)
target_link_libraries(framescribe_sinks PRIVATE CURL::libcurl)
