# fairway_add_library(<name> [SOURCES <src>...] [DEPENDS <target>...] [FIND_DEPENDENCIES <args>...])
#
# Without SOURCES the library is header-only (an INTERFACE target). DEPENDS are linked publicly;
# fairway::<other> dependencies are found again, from beside this package, by its installed config.
# Gives every library the same shape: target fairway_<name>, alias and export name fairway::<name>,
# public headers in libs/<name>/include/fairway/<name>/, version read once from version.hpp, its own
# installed package (fairway-<name>-config.cmake + config-version.cmake) and a build-tree export.
# FIND_DEPENDENCIES: third-party packages the installed config finds again, one quoted
# find_dependency() argument list each ("Poco COMPONENTS Foundation Net" "yaml-cpp").

set(FAIRWAY_COMPONENTS "" CACHE INTERNAL "Libraries installed as components of fairway")

function(fairway_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;FIND_DEPENDENCIES" ${ARGN})
  set(target fairway_${name})
  set(include_dir "${CMAKE_CURRENT_SOURCE_DIR}/include")
  string(REPLACE "_" "/" header_dir "${name}")

  file(STRINGS "${include_dir}/fairway/${header_dir}/version.hpp" version_line
       REGEX "kVersion = \"[0-9]+\\.[0-9]+\\.[0-9]+\"")
  if(NOT version_line MATCHES "\"([0-9]+\\.[0-9]+\\.[0-9]+)\"")
    message(FATAL_ERROR "fairway_add_library(${name}): no kVersion in version.hpp")
  endif()
  set(version "${CMAKE_MATCH_1}")
  set(FAIRWAY_${name}_VERSION "${version}" CACHE INTERNAL "")

  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    set(scope PUBLIC)
    target_compile_options(${target} PRIVATE ${FAIRWAY_WARNING_FLAGS})
    set_target_properties(${target} PROPERTIES VERSION ${version} OUTPUT_NAME fairway_${name})
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(fairway::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${include_dir}>
                                                $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
  set(FAIRWAY_INTERNAL_DEPENDENCIES "")
  foreach(dep IN LISTS ARG_DEPENDS)
    target_link_libraries(${target} ${scope} ${dep})
    if(dep MATCHES "^fairway::(.+)$")
      string(APPEND FAIRWAY_INTERNAL_DEPENDENCIES
             "find_dependency(fairway-${CMAKE_MATCH_1} ${FAIRWAY_${CMAKE_MATCH_1}_VERSION} CONFIG "
             "PATHS \"\${CMAKE_CURRENT_LIST_DIR}/..\" NO_DEFAULT_PATH)\n")
    endif()
  endforeach()

  set(package fairway-${name})
  set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/${package}")
  install(TARGETS ${target} EXPORT ${package}-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY "${include_dir}/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT ${package}-targets NAMESPACE fairway:: DESTINATION ${config_dir})
  export(EXPORT ${package}-targets NAMESPACE fairway::
         FILE "${PROJECT_BINARY_DIR}/${package}-targets.cmake")

  set(FAIRWAY_FIND_DEPENDENCIES "${ARG_FIND_DEPENDENCIES}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/fairway-component-config.cmake.in"
                 "${PROJECT_BINARY_DIR}/${package}-config.cmake" @ONLY)
  include(CMakePackageConfigHelpers)
  # 0.x: a minor bump may break the API, so only the same minor version is compatible.
  write_basic_package_version_file("${PROJECT_BINARY_DIR}/${package}-config-version.cmake"
                                   VERSION ${version} COMPATIBILITY SameMinorVersion)
  install(FILES "${PROJECT_BINARY_DIR}/${package}-config.cmake"
                "${PROJECT_BINARY_DIR}/${package}-config-version.cmake"
          DESTINATION ${config_dir})
  install(FILES CHANGELOG.md README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/${name})

  set(FAIRWAY_COMPONENTS ${FAIRWAY_COMPONENTS} ${name} CACHE INTERNAL "")
endfunction()

# The umbrella package: find_package(fairway CONFIG COMPONENTS balancer ...) loads each component's
# own package from beside it.
function(fairway_install_package)
  include(CMakePackageConfigHelpers)
  configure_file("${PROJECT_SOURCE_DIR}/cmake/fairway-config.cmake.in"
                 "${PROJECT_BINARY_DIR}/fairway-config.cmake" @ONLY)
  write_basic_package_version_file("${PROJECT_BINARY_DIR}/fairway-config-version.cmake"
                                   VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES "${PROJECT_BINARY_DIR}/fairway-config.cmake"
                "${PROJECT_BINARY_DIR}/fairway-config-version.cmake"
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fairway)
endfunction()
