# Warnings for the project's own targets: framescribe_warnings(<target>).
# (-Wnull-dereference is left out: GCC 12 reports it inside libstdc++'s vector copy.)
function(framescribe_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
        -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough>)
  endif()
endfunction()
