# platforms.mk - portability targets; the Makefile includes this file and
# provides CC, CFLAGS, WARN, CMOCKA, SUITES and B.
#
#   make test-portable   tests/test_portable.c, native (part of make test)
#   make test-large4g    a > 4 GiB sparse file, native 64-bit: mapped
#   make test-m32        i386 (gcc -m32 -D_FILE_OFFSET_BITS=64): test_portable,
#                        the > 4 GiB file (HEADER_ONLY works, open gives
#                        SAFETENSORS_ERR_TOO_LARGE) and the cmocka suites
#   make test-s390x      big-endian s390x under qemu-user: test_portable, the
#                        > 4 GiB file, and `safetensors-inspect --json` over
#                        the corpus, byte-identical to the native output
#   make test-windows    x86-64 Windows (mingw-w64) under wine: test_portable
#                        (CreateFileW, MapViewOfFile, a UTF-8 path that is not
#                        ASCII, FindFirstFileW), test_conformance (the corpus
#                        by path and from memory) and the inspector's --json,
#                        identical to native
#
# test_portable is a cmocka suite like the others: against libcmocka
# natively, against tests/cmocka_shim elsewhere. Its scratch folder,
# $(B)/.../tmp, is emptied before each run.
#
# Debian packages: gcc-12-multilib, gcc-s390x-linux-gnu qemu-user,
# gcc-mingw-w64-x86-64 wine. Not gcc-multilib: it conflicts with every
# gcc-*-linux-gnu cross compiler; its one file, the /usr/include/asm link, is
# made under $(B)/m32 instead when it is missing. Optional: libcmocka-dev:i386
# (after `dpkg --add-architecture i386`) runs the cmocka suites on i386 too.

M32_CC     ?= $(CC)
S390X_CC   ?= s390x-linux-gnu-gcc
QEMU_S390X ?= qemu-s390x
MINGW_CC   ?= x86_64-w64-mingw32-gcc
WINE       ?= wine
# Extra preprocessor flags for every build here, ahead of -I. (for instance
# -I a directory holding a patched safetensors.h).
PLAT_CPPFLAGS ?=
# Every cmocka suite also runs on i386: against libcmocka when an i386 one
# is installed (libcmocka-dev:i386), else against tests/cmocka_shim, a small
# stand-in with the same API (no i386 packages are needed on CI).
M32_SUITES ?= $(foreach s,$(SUITES),$(if $(wildcard tests/test_$(s).c),$(s)))
M32_CMOCKA = $(if $(wildcard /usr/lib/i386-linux-gnu/libcmocka.so),$(CMOCKA),-Itests/cmocka_shim $(filter -pthread,$(CMOCKA)))

WINE_ENV := WINEPREFIX=$(abspath $(B))/wine WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml=

M32_ASM := $(if $(wildcard /usr/include/asm/errno.h),,$(B)/m32/include/asm)
M32     := -m32 -D_FILE_OFFSET_BITS=64 $(if $(M32_ASM),-isystem $(B)/m32/include)

.PHONY: test-portable test-large4g test-m32 test-s390x test-windows

# ---- native ---------------------------------------------------------------
$(B)/test_portable: tests/test_portable.c tests/test_util.h safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@ $(CMOCKA)

test-portable: $(B)/test_portable
	@rm -rf $(B)/tmp && mkdir -p $(B)/tmp/shards
	@$(TALLY) portable ./$(B)/test_portable --tmp $(B)/tmp

test-large4g: $(B)/test_portable
	sh tests/sparse_4g.sh $(B)/tmp ./$(B)/test_portable

# ---- i386 -----------------------------------------------------------------
$(B)/m32/include/asm:
	@mkdir -p $(@D)
	ln -sfn /usr/include/x86_64-linux-gnu/asm $@

$(B)/m32/test_%: tests/test_%.c tests/test_util.h safetensors.h | $(M32_ASM)
	@mkdir -p $(@D)
	$(M32_CC) $(M32) $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@ $(M32_CMOCKA)

# The conversions once more with -msse2: i386 builds that enable SSE2 take
# the SSE2 narrowings, on a 32-bit target.
$(B)/m32/test_convert_sse2: tests/test_convert.c safetensors.h | $(M32_ASM)
	@mkdir -p $(@D)
	$(M32_CC) $(M32) -msse2 $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@ $(M32_CMOCKA)

test-m32: $(B)/m32/test_portable $(M32_SUITES:%=$(B)/m32/test_%) $(B)/m32/test_convert_sse2
	@rm -rf $(B)/m32/tmp && mkdir -p $(B)/m32/tmp/shards
	./$(B)/m32/test_portable --tmp $(B)/m32/tmp
	sh tests/sparse_4g.sh $(B)/m32/tmp ./$(B)/m32/test_portable
	@set -e; for s in $(M32_SUITES) convert_sse2; do echo "== $(B)/m32/test_$$s"; ./$(B)/m32/test_$$s; done

# ---- s390x (big-endian) ---------------------------------------------------
$(B)/s390x/safetensors-inspect: examples/inspect.c safetensors.h
	@mkdir -p $(@D)
	$(S390X_CC) -static $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@

# The native inspector, for the outputs to compare with.
$(B)/plat/safetensors-inspect: examples/inspect.c safetensors.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@

# Every cmocka suite on a big-endian host: no s390x cmocka here, so they
# build against tests/cmocka_shim, a small stand-in with the same API.
S390X_SUITES ?= $(foreach s,$(SUITES),$(if $(wildcard tests/test_$(s).c),$(s)))
$(B)/s390x/test_%: tests/test_%.c tests/test_util.h safetensors.h tests/cmocka_shim/cmocka.h
	@mkdir -p $(@D)
	$(S390X_CC) -static $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. -Itests/cmocka_shim $< -o $@ -pthread

test-s390x: $(B)/s390x/test_portable $(S390X_SUITES:%=$(B)/s390x/test_%) $(B)/s390x/safetensors-inspect \
            $(B)/plat/safetensors-inspect
	@rm -rf $(B)/s390x/tmp && mkdir -p $(B)/s390x/tmp/shards
	$(QEMU_S390X) ./$(B)/s390x/test_portable --tmp $(B)/s390x/tmp
	@set -e; for s in $(S390X_SUITES); do echo "== $(B)/s390x/test_$$s"; $(QEMU_S390X) ./$(B)/s390x/test_$$s; done
	sh tests/sparse_4g.sh $(B)/s390x/tmp $(QEMU_S390X) ./$(B)/s390x/test_portable
	sh tests/inspect_corpus.sh $(B)/s390x/inspect-native.jsonl ./$(B)/plat/safetensors-inspect
	sh tests/inspect_corpus.sh $(B)/s390x/inspect-s390x.jsonl $(QEMU_S390X) ./$(B)/s390x/safetensors-inspect
	diff $(B)/s390x/inspect-native.jsonl $(B)/s390x/inspect-s390x.jsonl > $(B)/s390x/inspect.diff \
	  || { head -40 $(B)/s390x/inspect.diff; echo "test-s390x: the s390x inspector's --json differs from native"; exit 1; }
	@echo "test-s390x: inspector --json identical to native ($$(grep -c '^{' $(B)/s390x/inspect-s390x.jsonl) files)"

# ---- Windows (mingw-w64 under wine) --------------------------------------
$(B)/win/test_%.exe: tests/test_%.c tests/test_util.h safetensors.h tests/cmocka_shim/cmocka.h
	@mkdir -p $(@D)
	$(MINGW_CC) $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. -Itests/cmocka_shim $< -o $@

$(B)/win/safetensors-inspect.exe: examples/inspect.c safetensors.h
	@mkdir -p $(@D)
	$(MINGW_CC) $(WARN) $(CFLAGS) $(PLAT_CPPFLAGS) -I. $< -o $@

# The first wine run makes the prefix under $(B)/wine (about 15 s).
test-windows: $(B)/win/test_portable.exe $(B)/win/test_conformance.exe $(B)/win/test_convert.exe \
              $(B)/win/safetensors-inspect.exe $(B)/plat/safetensors-inspect
	@rm -rf $(B)/win/tmp && mkdir -p $(B)/win/tmp/shards
	$(WINE_ENV) $(WINE) $(B)/win/test_portable.exe --tmp $(B)/win/tmp
	$(WINE_ENV) $(WINE) $(B)/win/test_conformance.exe
	$(WINE_ENV) $(WINE) $(B)/win/test_convert.exe
	sh tests/inspect_corpus.sh $(B)/win/inspect-native.jsonl ./$(B)/plat/safetensors-inspect
	sh tests/inspect_corpus.sh $(B)/win/inspect-win.jsonl env $(WINE_ENV) $(WINE) $(B)/win/safetensors-inspect.exe
	-@$(WINE_ENV) wineserver -k 2>/dev/null
	diff $(B)/win/inspect-native.jsonl $(B)/win/inspect-win.jsonl > $(B)/win/inspect.diff \
	  || { head -40 $(B)/win/inspect.diff; echo "test-windows: the Windows inspector's --json differs from native"; exit 1; }
	@echo "test-windows: inspector --json identical to native ($$(grep -c '^{' $(B)/win/inspect-win.jsonl) files)"
	@$(MAKE) --no-print-directory test-windows-dll # safetensors.dll (packaging/packaging.mk)
