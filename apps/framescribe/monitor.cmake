# live monitoring (GStreamer, live windows, alerts): the monitor pieces of this module (included from its CMakeLists.txt).
# framescribe monitor: GStreamer sources, live jobs on a shared engine, alerts, status page.
pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
target_sources(framescribe PRIVATE
  framescribe/cmd_monitor.cpp
  framescribe/monitor_status.cpp
  framescribe/monitor_http.cpp
  framescribe/http_policy.cpp
  framescribe/monitor_outputs.cpp)
target_link_libraries(framescribe PRIVATE PkgConfig::CPP_HTTPLIB Threads::Threads)
target_compile_definitions(framescribe PRIVATE FRAMESCRIBE_WITH_MONITOR=1)
