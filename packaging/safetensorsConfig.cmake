# find_package(safetensors CONFIG [COMPONENTS shared]) for an installed
# safetensors.h. Targets:
#   safetensors::safetensors  the header (INTERFACE): define
#                             SAFETENSORS_IMPLEMENTATION in one of your files
#   safetensors::shared       libsafetensors, when it was installed
# safetensorsTargets.cmake is CMake's export after a CMake install, or the
# equivalent that make install writes.
include("${CMAKE_CURRENT_LIST_DIR}/safetensorsTargets.cmake")

foreach(_safetensors_component IN LISTS safetensors_FIND_COMPONENTS)
  if(_safetensors_component STREQUAL "shared" AND TARGET safetensors::shared)
    set(safetensors_shared_FOUND TRUE)
  else()
    set(safetensors_${_safetensors_component}_FOUND FALSE)
    if(safetensors_FIND_REQUIRED_${_safetensors_component})
      set(safetensors_FOUND FALSE)
      set(safetensors_NOT_FOUND_MESSAGE
          "component '${_safetensors_component}' is not installed (the only one is 'shared', the library)")
    endif()
  endif()
endforeach()
unset(_safetensors_component)
