# The deployment examples of configs/deploy/ for real (label slurm, `ctest --preset slurm`; not in
# the default preset: they start daemons and install from PyPI). Included from tests/CMakeLists.txt.
find_package(Python3 COMPONENTS Interpreter)
if(FRAMESCRIBE_BUILD_APPS AND Python3_Interpreter_FOUND)
  # slurm-array.sh on a single-node Slurm cluster started from Debian's slurm-wlm and munge
  # (SKIPPED, exit 77, only when those are not installed; tools/setup.sh installs them).
  add_test(NAME slurm_array_job
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/slurm/slurm_array_test.py
            --framescribe $<TARGET_FILE:framescribe> --source-dir ${PROJECT_SOURCE_DIR})
  set_tests_properties(slurm_array_job PROPERTIES LABELS slurm TIMEOUT 300 SKIP_RETURN_CODE 77)
  # The Kubernetes manifests against the Kubernetes schema (kubernetes-validate from PyPI, pinned,
  # in a venv here) and consistent with the Slurm script.
  add_test(NAME k8s_manifests_schema
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/slurm/k8s_manifest_test.py
            --source-dir ${PROJECT_SOURCE_DIR} --venv ${CMAKE_CURRENT_BINARY_DIR}/k8s-validate-venv)
  set_tests_properties(k8s_manifests_schema PROPERTIES LABELS slurm TIMEOUT 180)
endif()
