# Embeds the web page's files into a C++ source (run by the build: cmake -P embed.cmake
# -DOUT=file.cpp -DFILES="a;b;c"), so the server binary needs nothing on disk.
# The result defines framescribe::serve::video_page_file(name): the file's bytes, or "" when
# there is no such file.
set(body "// Generated from serve/web by serve/web/embed.cmake: do not edit.\n#include <string_view>\n\nnamespace framescribe::serve {\nnamespace {\n")
set(table "")
set(i 0)
foreach(f IN LISTS FILES)
  file(READ "${f}" hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR size "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  get_filename_component(name "${f}" NAME)
  string(APPEND body "const char k${i}[] = {${bytes} 0};\n")
  string(APPEND table "  if (name == \"${name}\") return {k${i}, ${size}};\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nstd::string_view video_page_file(std::string_view name) {\n${table}  return {};\n}\n\n}  // namespace framescribe::serve\n")
file(WRITE "${OUT}.tmp" "${body}")
file(RENAME "${OUT}.tmp" "${OUT}")
