# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# framescribe monitor: GStreamer sources, live jobs on a shared engine, alerts, status page.
# The status board, its web server and the live JSONL writers are in sinks (and http).
target_sources(framescribe PRIVATE framescribe/cmd_monitor.cpp)
target_link_libraries(framescribe PRIVATE framescribe_http Threads::Threads)
target_compile_definitions(framescribe PRIVATE FRAMESCRIBE_WITH_MONITOR=1)
