# The two consumers every CMake project here builds, from consumer.c: one
# with the implementation compiled in (the header target), one linked
# against the shared library.
add_executable(consumer_header consumer.c)
target_compile_definitions(consumer_header PRIVATE SAFETENSORS_IMPLEMENTATION)
target_link_libraries(consumer_header PRIVATE safetensors::safetensors)

add_executable(consumer_shared consumer.c)
target_link_libraries(consumer_shared PRIVATE safetensors::shared)

foreach(t consumer_header consumer_shared)
  target_compile_options(${t} PRIVATE -Wall -Wextra -Werror)
endforeach()
