# Runs one libFuzzer binary for SECONDS over a scratch copy of its seed corpus, so inputs it
# discovers never land in the source tree; crash inputs go to WORK_DIR/artifacts. Called by
# ctest with -DFUZZER= -DSEED_CORPUS= -DWORK_DIR= -DSECONDS= (see CMakeLists.txt).
foreach(var FUZZER SEED_CORPUS WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_libfuzzer.cmake: -D${var}= is required")
  endif()
endforeach()

if(NOT EXISTS ${FUZZER})
  message(FATAL_ERROR "${FUZZER} is missing: build it with scripts/test.sh (clang, FB_FUZZ=ON)")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)
file(GLOB seeds ${SEED_CORPUS}/*)
file(COPY ${seeds} DESTINATION ${WORK_DIR}/corpus)

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1
          -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${result}); reproducers in ${WORK_DIR}/artifacts")
endif()
