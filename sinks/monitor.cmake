# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# Alert deliveries: JSONL log, webhook (libcurl), command; JPEG snapshots. The live outputs of a
# stream (JSON-lines files, the status board) and the board's web server (the http module).
target_sources(framescribe_sinks PRIVATE
  src/alert_log.cpp
  src/alert_webhook.cpp
  src/alert_command.cpp
  src/alert_queue.cpp
  src/live_outputs.cpp
  src/status_board.cpp
  src/status_http.cpp
  src/monitor_outputs.cpp)
target_link_libraries(framescribe_sinks PRIVATE CURL::libcurl)
target_link_libraries(framescribe_sinks PRIVATE framescribe_http)
