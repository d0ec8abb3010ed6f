# CUDA is optional: AUTO enables it when nvcc is found (also under /usr/local/cuda).
set(FRAMESCRIBE_HAVE_CUDA OFF)
if(NOT FRAMESCRIBE_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS "/usr/local/cuda/bin/nvcc")
    set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc" CACHE FILEPATH "nvcc")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # enable_language fills an unset CMAKE_CUDA_ARCHITECTURES with nvcc's own default (52 before
    # CUDA 13, 75 since); the kernels need sm_80 (cp.async, bf16): note whether the user chose.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(_framescribe_default_archs ON)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(FRAMESCRIBE_HAVE_CUDA ON)
    # A100, A10/RTX 30, L4/L40/RTX 40, H100/H200, plus PTX for newer cards.
    if(_framescribe_default_archs OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
      set(CMAKE_CUDA_ARCHITECTURES 80-real 86-real 89-real 90-real 90-virtual
          CACHE STRING "CUDA architectures" FORCE)
    endif()
  elseif(FRAMESCRIBE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FRAMESCRIBE_CUDA=ON but no CUDA compiler was found; install the CUDA "
                        "toolkit or configure with -DFRAMESCRIBE_CUDA=OFF")
  endif()
endif()
