# packaging.mk - the shared library, make install, the ABI baseline, the
# Python and C++ bindings and the build-system integrations. The Makefile
# includes this file and provides CC, CXX, WARN, CXXWARN, CFLAGS, CMOCKA,
# SUITES, B, PREFIX, the deps target, and the install target's recipe (the
# header), to which install-lib here is a prerequisite.
#
#   make shared             $(B)/libsafetensors.so.X.Y.Z, SONAME libsafetensors.so.X,
#                           and the .so.X and .so links
#   make test-shared        the library exports exactly the header's API; every
#                           suite, linked against the library, passes
#   make test-hpp           bindings/cpp/safetensors.hpp under -std=c++11 and -std=c++20
#   make test-python        pytest over bindings/python/tests (python3 with numpy
#                           and pytest; said and skipped when they are missing)
#       (those three are part of make test: TALLIED in the Makefile)
#   make install / uninstall   PREFIX (/usr/local), DESTDIR, LIBDIR ($(PREFIX)/lib),
#                           BINDIR ($(PREFIX)/bin): the headers, the library and
#                           its links, safetensors.pc, the CMake package, the tools
#   make test-integration   throwaway consumer projects: pkg-config with make and
#                           CMake find_package against a staged make install, the
#                           same against a CMake install, CMake add_subdirectory
#                           and a Meson subproject of this tree (about a minute)
#   make abi-check          the library against abi/libsafetensors.abi: additions
#                           pass, removals and changes fail
#   make abi-update         regenerates abi/libsafetensors.abi (an intentional
#                           change: commit it with a CHANGELOG line)
#   make test-windows-dll   safetensors.dll (mingw-w64), its exports, and
#                           test_portable linked against it, under wine
#
# Debian packages: cmake meson ninja-build pkg-config abigail-tools
# python3-numpy python3-pytest (and the mingw/wine ones of tests/platforms.mk).

# The version comes from the header, the one place it is kept.
ST_VERSION := $(shell awk '$$2 ~ /^SAFETENSORS_VERSION_(MAJOR|MINOR|PATCH)$$/ { v[$$2] = $$3 } \
                END { print v["SAFETENSORS_VERSION_MAJOR"] "." v["SAFETENSORS_VERSION_MINOR"] "." v["SAFETENSORS_VERSION_PATCH"] }' safetensors.h)
ST_MAJOR   := $(firstword $(subst ., ,$(ST_VERSION)))
SO_NAME    := libsafetensors.so.$(ST_MAJOR)
SO_FILE    := libsafetensors.so.$(ST_VERSION)
SO_LINKS   := $(B)/$(SO_NAME) $(B)/libsafetensors.so
# Hidden by default; SAFETENSORS_BUILD_SHARED marks the API "default".
SHLIB      := -fPIC -fvisibility=hidden -DSAFETENSORS_BUILD_SHARED -shared -Wl,-soname,$(SO_NAME) -Wl,--no-undefined
# Debian's python3 has apt's numpy and pytest; a pyenv python3 earlier on PATH may not.
PYTHON     ?= $(firstword $(wildcard /usr/bin/python3) python3)
ABIDW      := abidw --no-corpus-path --no-comp-dir-path --short-locs --no-architecture

.PHONY: shared test-shared test-hpp test-python install-lib uninstall test-integration \
        abi-check abi-update test-windows-dll


# ---- the shared library ---------------------------------------------------
shared: $(B)/$(SO_FILE) $(SO_LINKS)

$(B)/$(SO_FILE): packaging/safetensors.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) $(SHLIB) -I. $< -o $@

$(B)/$(SO_NAME): $(B)/$(SO_FILE)
	ln -sf $(SO_FILE) $@

$(B)/libsafetensors.so: $(B)/$(SO_NAME)
	ln -sf $(SO_NAME) $@

# The suites unchanged, but with packaging/shared-shim ahead of the header,
# which drops their SAFETENSORS_IMPLEMENTATION: every call goes to the library.
$(B)/shared/test_%: tests/test_%.c tests/test_util.h safetensors.h packaging/shared-shim/safetensors.h \
                    $(B)/libsafetensors.so | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g -Ipackaging/shared-shim -I. $< -o $@ -L$(B) -lsafetensors -Wl,-rpath,'$$ORIGIN/..' $(CMOCKA)
$(B)/shared/test_sharded $(B)/shared/test_engine: CMOCKA += -pthread

test-shared: $(B)/$(SO_FILE) $(SO_LINKS) $(SUITES:%=$(B)/shared/test_%)
	@sh packaging/check-exports.sh "$(CC)" $(B)/$(SO_FILE) $(SO_NAME)
	@set -e; for s in $(SUITES); do \
	    ./$(B)/shared/test_$$s > $(B)/shared/test_$$s.log 2>&1 \
	      || { cat $(B)/shared/test_$$s.log; echo "test-shared: test_$$s fails against $(SO_FILE)"; exit 1; }; \
	done; echo "test-shared: all $(words $(SUITES)) suites pass against $(B)/$(SO_FILE)"

# ---- C++ wrapper ------------------------------------------------------------
HPP_STDS := c++11 c++20
$(B)/test_hpp_%: tests/test_hpp.cpp bindings/cpp/safetensors.hpp safetensors.h $(B)/libsafetensors.so | deps
	$(CXX) -std=$* -pedantic $(CXXWARN) -Wconversion -Wshadow -O1 -I. -Ibindings/cpp $< -o $@ \
	    -L$(B) -lsafetensors -Wl,-rpath,'$$ORIGIN' $(CMOCKA)

test-hpp: $(HPP_STDS:%=$(B)/test_hpp_%)
	@set -e; for t in $^; do echo "== $$t"; ./$$t; done

# ---- Python -------------------------------------------------------------------
# pytest exits 5 when it collects nothing, which here means the tests went missing.
test-python: $(B)/$(SO_FILE)
	@if ! $(PYTHON) -c 'import numpy, pytest' > /dev/null 2>&1; then \
	    echo "test-python: SKIPPED, $(PYTHON) lacks numpy or pytest (apt-get install python3-numpy python3-pytest)"; \
	    exit 0; \
	fi; \
	echo "== pytest bindings/python/tests"; \
	SAFETENSORS_LIB=$(abspath $(B)/$(SO_FILE)) PYTHONDONTWRITEBYTECODE=1 \
	    $(PYTHON) -m pytest -q -p no:cacheprovider bindings/python/tests; rc=$$?; \
	if [ $$rc = 5 ]; then echo "test-python: pytest found no test in bindings/python/tests"; fi; \
	exit $$rc

# ---- install ----------------------------------------------------------------
LIBDIR   ?= $(PREFIX)/lib
BINDIR   ?= $(PREFIX)/bin
INCDIR   := $(PREFIX)/include
PCDIR    := $(LIBDIR)/pkgconfig
CMAKEDIR := $(LIBDIR)/cmake/safetensors
TOOLS    := $(B)/safetensors-inspect $(B)/safetensors-convert
# Fills the templates in packaging/ (CMake's configure_file fills the same
# names for a CMake install).
PKG_SUBST = sed -e 's|@PROJECT_VERSION@|$(ST_VERSION)|g' \
                -e 's|@PC_PREFIX@|$(PREFIX)|g' -e 's|@PC_INCLUDEDIR@|$(INCDIR)|g' -e 's|@PC_LIBDIR@|$(LIBDIR)|g' \
                -e 's|@PC_LIBS@|-L$${libdir} -lsafetensors|g' \
                -e 's|@SAFETENSORS_SIZEOF_VOID_P@|$(shell $(CC) -dM -E -x c /dev/null | awk '$$2 == "__SIZEOF_POINTER__" { print $$3 }')|g' \
                -e 's|@INCLUDE_FROM_CMAKEDIR@|$(shell realpath -m --relative-to=$(CMAKEDIR) $(INCDIR))|g' \
                -e 's|@LIB_FROM_CMAKEDIR@|$(shell realpath -m --relative-to=$(CMAKEDIR) $(LIBDIR))|g' \
                -e 's|@SO_FILE@|$(SO_FILE)|g' -e 's|@SO_NAME@|$(SO_NAME)|g'

install: install-lib

install-lib: $(B)/$(SO_FILE) $(TOOLS)
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(BINDIR)
	install -m 644 bindings/cpp/safetensors.hpp $(DESTDIR)$(INCDIR)/
	install -m 755 $(B)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libsafetensors.so
	$(PKG_SUBST) packaging/safetensors.pc.in > $(DESTDIR)$(PCDIR)/safetensors.pc
	install -m 644 packaging/safetensorsConfig.cmake $(DESTDIR)$(CMAKEDIR)/
	$(PKG_SUBST) packaging/safetensorsConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/safetensorsConfigVersion.cmake
	$(PKG_SUBST) packaging/safetensorsTargets-make.cmake.in > $(DESTDIR)$(CMAKEDIR)/safetensorsTargets.cmake
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/safetensors.h $(DESTDIR)$(INCDIR)/safetensors.hpp \
	      $(addprefix $(DESTDIR)$(LIBDIR)/,$(SO_FILE) $(SO_NAME) libsafetensors.so) \
	      $(DESTDIR)$(PCDIR)/safetensors.pc $(TOOLS:$(B)/%=$(DESTDIR)$(BINDIR)/%) \
	      $(addprefix $(DESTDIR)$(CMAKEDIR)/,safetensorsConfig.cmake safetensorsConfigVersion.cmake safetensorsTargets.cmake) \
	      $(DESTDIR)$(PREFIX)/share/man/man1/safetensors-inspect.1
	rmdir $(DESTDIR)$(CMAKEDIR) 2> /dev/null || true

# ---- consumers -----------------------------------------------------------------
test-integration:
	@MAKE="$(MAKE)" sh tests/integration/run.sh $(B) $(ST_VERSION)

# ---- ABI ------------------------------------------------------------------------
# abidw reads the debug information, and the baseline must not depend on
# the CFLAGS of the day: this copy is always -O2 -g.
$(B)/abi/$(SO_FILE): packaging/safetensors.c safetensors.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(SHLIB) -I. $< -o $@

abi-check: $(B)/abi/$(SO_FILE)
	@$(ABIDW) --out-file $(B)/abi/current.abi $<
	@sh packaging/abi-check.sh abi/libsafetensors.abi $(B)/abi/current.abi packaging/abi.suppr

abi-update: $(B)/abi/$(SO_FILE)
	@mkdir -p abi
	$(ABIDW) --out-file abi/libsafetensors.abi $<
	@echo "abi-update: abi/libsafetensors.abi rewritten; commit it with a CHANGELOG line saying what changed"

# ---- Windows DLL ------------------------------------------------------------------
# (MINGW_CC, WINE and WINE_ENV come from tests/platforms.mk)
$(B)/win/safetensors.dll: packaging/safetensors.c safetensors.h
	@mkdir -p $(@D)
	$(MINGW_CC) $(WARN) $(CFLAGS) -DSAFETENSORS_BUILD_SHARED -shared -I. $< -o $@ \
	    -Wl,--out-implib,$(B)/win/libsafetensors.dll.a

$(B)/win/dll_test_portable.exe: tests/test_portable.c safetensors.h packaging/shared-shim/safetensors.h \
                                $(B)/win/safetensors.dll
	$(MINGW_CC) $(WARN) $(CFLAGS) -Ipackaging/shared-shim -I. -Itests/cmocka_shim $< -o $@ -L$(B)/win -lsafetensors

test-windows-dll: $(B)/win/dll_test_portable.exe
	@sh packaging/check-exports.sh "$(MINGW_CC)" $(B)/win/safetensors.dll
	@$(MINGW_CC:gcc=objdump) -p $< | grep -q 'DLL Name: safetensors.dll' \
	  || { echo "test-windows-dll: $< does not import safetensors.dll"; exit 1; }
	@mkdir -p $(B)/win/dlltmp/shards
	$(WINE_ENV) $(WINE) $(B)/win/dll_test_portable.exe --tmp $(B)/win/dlltmp
	-@$(WINE_ENV) wineserver -k 2>/dev/null
	@echo "test-windows-dll: test_portable passes against safetensors.dll under wine"
