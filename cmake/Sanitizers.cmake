# FRAMESCRIBE_SANITIZE=address,undefined (ASan + UBSan) or thread (TSan) for every target.
if(FRAMESCRIBE_SANITIZE)
  set(_fs_san_flags -fsanitize=${FRAMESCRIBE_SANITIZE} -fno-omit-frame-pointer -g)
  if(FRAMESCRIBE_SANITIZE MATCHES "undefined")
    # Any UB report fails the test instead of scrolling past.
    list(APPEND _fs_san_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_fs_san_flags}>")
  add_link_options(${_fs_san_flags})
endif()
