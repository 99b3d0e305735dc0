# The Arrow C++ and Parquet libraries petastorm_core links, as imported targets pyarrow::<lib>.
# Shared by the build (CMakeLists.txt) and the installed package (petastormConfig.cmake).
set(PETASTORM_ARROW_LIBS arrow parquet arrow_compute arrow_dataset arrow_acero arrow_s3)

# Asks `python` for its pyarrow: sets PYARROW_INCLUDE_DIR, PYARROW_LIB_DIR and PYARROW_SO_VERSION in
# the caller, or PYARROW_ERROR (a sentence) when pyarrow does not import.
function(petastorm_query_pyarrow python)
  execute_process(
    COMMAND "${python}" -c
            "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.cpp_build_info.so_version)"
    OUTPUT_VARIABLE _info OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc ERROR_QUIET)
  if(NOT _rc EQUAL 0)
    set(PYARROW_ERROR "pyarrow is not importable by ${python}" PARENT_SCOPE)
    return()
  endif()
  string(REPLACE "\n" ";" _info "${_info}")
  list(GET _info 0 _include)
  list(GET _info 1 _libdir)
  list(GET _info 2 _so)
  set(PYARROW_INCLUDE_DIR "${_include}" PARENT_SCOPE)
  set(PYARROW_LIB_DIR "${_libdir}" PARENT_SCOPE)
  set(PYARROW_SO_VERSION "${_so}" PARENT_SCOPE)
  unset(PYARROW_ERROR PARENT_SCOPE)
endfunction()

# pyarrow::<lib> for each of PETASTORM_ARROW_LIBS: the shared objects lib<lib>.so.<so_version> of the
# pyarrow wheel in lib_dir, with its headers in include_dir.
function(petastorm_pyarrow_targets include_dir lib_dir so_version)
  foreach(_lib ${PETASTORM_ARROW_LIBS})
    if(NOT TARGET pyarrow::${_lib})
      add_library(pyarrow::${_lib} SHARED IMPORTED)
      set_target_properties(pyarrow::${_lib} PROPERTIES
        IMPORTED_LOCATION "${lib_dir}/lib${_lib}.so.${so_version}"
        INTERFACE_INCLUDE_DIRECTORIES "${include_dir}")
    endif()
  endforeach()
endfunction()
