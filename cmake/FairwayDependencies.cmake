# Finds the third-party packages fairway builds with. Every one comes from Debian 12; a missing one
# stops the configure step at once with the package to install (scripts/install-deps does it all).

function(fairway_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "fairway: missing dependency ${package}. Install the Debian package '${debian_package}' "
      "(apt-get install ${debian_package}), or run scripts/install-deps to install everything.")
  endif()
endfunction()

if(FAIRWAY_BUILD_TESTS)
  fairway_require(GTest "googletest libgmock-dev")
endif()
if(FAIRWAY_BUILD_BENCHMARKS)
  fairway_require(benchmark "libbenchmark-dev")
endif()

# POCO: Redis for the shared limiter and cache store, Net and Util for the proxy.
fairway_require(Poco "libpoco-dev" COMPONENTS Foundation Net Util Redis)

# yaml-cpp: the proxy's configuration and the simulator's scenarios.
fairway_require(yaml-cpp "libyaml-cpp-dev")

if(FAIRWAY_BUILD_PROXY)
  fairway_require(fmt "libfmt-dev")

  # llhttp (Node.js's HTTP/1.1 parser): Debian's node-llhttp ships its C sources, not a library.
  # They compile into an internal static target for libs/proxy; never installed or exported.
  set(FAIRWAY_LLHTTP_SOURCE_DIR "/usr/share/llhttp" CACHE PATH "llhttp's C sources")
  set(FAIRWAY_LLHTTP_INCLUDE_DIR "/usr/share/include/llhttp" CACHE PATH "llhttp.h's directory")
  if(NOT EXISTS "${FAIRWAY_LLHTTP_SOURCE_DIR}/llhttp.c" OR
     NOT EXISTS "${FAIRWAY_LLHTTP_INCLUDE_DIR}/llhttp.h")
    message(FATAL_ERROR
      "fairway: missing dependency llhttp. Install the Debian package 'node-llhttp' "
      "(apt-get install node-llhttp), or run scripts/install-deps to install everything.")
  endif()
  add_library(fairway_llhttp OBJECT "${FAIRWAY_LLHTTP_SOURCE_DIR}/llhttp.c"
                                    "${FAIRWAY_LLHTTP_SOURCE_DIR}/api.c"
                                    "${FAIRWAY_LLHTTP_SOURCE_DIR}/http.c")
  target_include_directories(fairway_llhttp SYSTEM PUBLIC "${FAIRWAY_LLHTTP_INCLUDE_DIR}")
  set_target_properties(fairway_llhttp PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
endif()
