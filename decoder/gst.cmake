# GStreamer live source (RTSP and other live URIs): included from decoder/CMakeLists.txt.
target_sources(framescribe_decoder PRIVATE
  src/gst_ptr.cpp
  src/gst_source.cpp
  src/gst_url.cpp)
target_link_libraries(framescribe_decoder PRIVATE PkgConfig::GSTREAMER)
