# reap: build, test, bundle. `make help` lists targets.
#   make                 build build/reap (CUDA auto-detected: CUDA=auto|0|1)
#   make test            build and run the whole test suite (prints "N passed, N failed")
#   make CUDA=0 test     the CPU-only build and tests (what CI runs on machines without a GPU)
#   make SAN=1 test      ASan + UBSan build in build/san (make test runs the unit tests so: san-unit)
#   make demo            the main job on the trained MoE: score, eval what-ifs, prune 25%, verify, eval, report (demo/)
#   make deps            install missing Debian packages (-dev libs, zstd, python3-venv; slurm + munge for tests)
#   make bundle          relocatable dist/reap/ (binary + non-system shared libs, $ORIGIN rpath; BUNDLE_DIR=)
#   make install         build/reap to $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local); make uninstall
#   make fuzz            libFuzzer targets (clang, build/fuzz/), each run FUZZ_SECONDS (60), FUZZ_JOBS at once
#   make fuzz-bundle     dist/fuzz/: the fuzz binaries, their shared libs, seeds and runner, to copy elsewhere

CC      ?= gcc
NVCC    ?= nvcc
CUDA    ?= auto
SAN     ?= 0
ARCH    ?= sm_90

ifeq ($(CUDA),auto)
  ifneq ($(shell command -v $(NVCC) 2>/dev/null),)
    CUDA := 1
  else
    CUDA := 0
  endif
endif

ifeq ($(SAN),1)
  BUILD ?= build/san
  SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  BUILD ?= build
  SANFLAGS =
endif

CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(shell command -v $(NVCC) 2>/dev/null))
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -D_GNU_SOURCE -fopenmp -Ilib -Icalib -Ikernels $(SANFLAGS)
LDLIBS  = -lcjson -lzstd -larchive -lpcre2-8 -lm
LDFLAGS += -fopenmp $(SANFLAGS)
# The binary looks for shared libraries in ../lib beside it first (the `make bundle` layout). DT_RPATH,
# not RUNPATH (--disable-new-dtags), so it also applies to the libraries' own dependencies.
RPATH   ?= -Wl,--disable-new-dtags,-rpath,'$$ORIGIN/../lib'
LDFLAGS += $(RPATH)

ifeq ($(CUDA),1)
  CFLAGS  += -DREAP_CUDA=1 -I$(CUDA_HOME)/include
  NVFLAGS = -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
            -Ilib -Ikernels -DREAP_CUDA=1 -Xcompiler -fPIC,-Wall,-fopenmp -lineinfo
  LDLIBS  += -L$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++ -ldl -lpthread
  CU_SRC  = $(wildcard kernels/*.cu)
else
  CU_SRC  =
endif

LIB_SRC  = $(wildcard lib/*.c) $(wildcard calib/*.c)
CALIB_DATA = $(wildcard calib/data/*.zst)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/calib/builtin_data.o $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
CMD_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/*.c))
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_BIN = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/tool_*.c))
DEV_SRC  = $(wildcard kernels/dev/*.cu)
DEV_BIN  = $(DEV_SRC:kernels/dev/%.cu=$(BUILD)/dev/%)
# The kernel harnesses that are tests (make test runs them; each prints SKIP without a GPU).
# dev_rates measures the card's ceilings for bench/gpu_bench.sh: a benchmark, built but not run.
# dev_fp8 checks the FP8 expert GEMM kernels (Hopper only: SKIP elsewhere) beside the experiment that chose them.
DEV_TEST_BIN = $(filter-out $(BUILD)/dev/dev_rates,$(DEV_BIN))
# A harness links the kernels it checks and the C library (its CPU references), not the layer
# driver kernels/gpu*.cu: it tests kernels, whatever state the pipeline is in.
DEV_KERN_OBJ = $(patsubst %.cu,$(BUILD)/%.cu.o,$(filter-out kernels/gpu%.cu,$(CU_SRC)))
HOST_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/calib/builtin_data.o
# Fuzz targets (tests/fuzz/fuzz_*.c): `make test` replays their seeds and regressions with these
# (gcc, the normal library); `make fuzz` builds them with clang and libFuzzer.
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BIN = $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/fuzz_%)

.PHONY: all test san-unit deps bundle clean help info dev demo install uninstall fuzz fuzz-build fuzz-bundle
all: info $(BUILD)/reap

info:
	@echo "reap: CUDA=$(CUDA)$(if $(filter 1,$(CUDA)), (nvcc in $(CUDA_HOME), $(ARCH) + PTX),) SAN=$(SAN) BUILD=$(BUILD)"

$(BUILD)/%.o: %.c $(wildcard lib/*.h calib/*.h kernels/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/calib/builtin_data.o: calib/builtin_data.S $(CALIB_DATA)
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(BUILD)/%.cu.o: %.cu $(wildcard lib/*.h kernels/*.h kernels/*.cuh)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(BUILD)/libreap.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/reap: $(CMD_OBJ) $(BUILD)/libreap.a
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libreap.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libreap.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libreap.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/libreap_c.a: $(HOST_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/dev/%: kernels/dev/%.cu $(DEV_KERN_OBJ) $(BUILD)/libreap_c.a $(wildcard kernels/*.cuh lib/*.h)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -o $@ $< $(DEV_KERN_OBJ) $(BUILD)/libreap_c.a -Xcompiler -fopenmp $(LDLIBS)

dev: $(DEV_BIN)

# CUDA=1: kernels/dev too (run.sh runs DEV_TESTS; a CPU-only build passes none).
# san-unit: the unit tests (tests/test_*.c) once more, built with ASan + UBSan into SAN_UNIT_BUILD
# (CPU-only, the flags of make SAN=1, so both share the objects); run.sh runs them as san-test_*.
# Skipped under SAN=1 (everything is sanitized then) and when the compiler cannot link and run a
# sanitized program (run.sh prints the SKIP).
SAN_UNIT_BUILD ?= build/san
test: all $(TEST_BIN) $(TOOL_BIN) $(FUZZ_REPLAY_BIN) $(if $(filter 1,$(CUDA)),$(DEV_BIN)) $(if $(filter 1,$(SAN)),,san-unit)
	@BUILD=$(BUILD) CUDA=$(CUDA) DEV_TESTS="$(if $(filter 1,$(CUDA)),$(DEV_TEST_BIN))" \
	  SAN_UNIT="$(if $(filter 1,$(SAN)),,$(SAN_UNIT_BUILD))" sh tests/run.sh

san-unit:
	@mkdir -p $(SAN_UNIT_BUILD)
	@rm -f $(SAN_UNIT_BUILD)/san-unavailable
	@if printf 'int main(void) { return 0; }\n' >$(SAN_UNIT_BUILD)/probe.c && \
	    $(CC) -fsanitize=address,undefined -o $(SAN_UNIT_BUILD)/probe $(SAN_UNIT_BUILD)/probe.c 2>$(SAN_UNIT_BUILD)/probe.log && \
	    $(SAN_UNIT_BUILD)/probe 2>>$(SAN_UNIT_BUILD)/probe.log; then \
	  $(MAKE) --no-print-directory SAN=1 CUDA=0 BUILD=$(SAN_UNIT_BUILD) $(TEST_SRC:tests/%.c=$(SAN_UNIT_BUILD)/tests/%); \
	else \
	  echo "$(CC) cannot link or run -fsanitize=address,undefined: $$(head -c 200 $(SAN_UNIT_BUILD)/probe.log | tr '\n' ' ')" \
	    >$(SAN_UNIT_BUILD)/san-unavailable; \
	fi

demo: all
	@REAP=$(BUILD)/reap sh examples/demo.sh

deps:
	@sh tests/deps.sh

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(BUILD)/reap $(DESTDIR)$(BINDIR)/reap

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/reap

BUNDLE_DIR ?= dist/reap
bundle: all
	@sh examples/bundle.sh $(BUILD)/reap $(BUNDLE_DIR)

clean:
	rm -rf build dist

help:
	@sed -n "1,11p" Makefile

$(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libreap.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c $(BUILD)/libreap.a $(LDFLAGS) $(LDLIBS)

# ---- fuzzing (issue 13). The library is compiled again by clang with the fuzzer's coverage and
# ASan + UBSan into build/fuzz/obj (the gcc build is untouched); each target links it with libFuzzer.
# tests/fuzz/run.sh runs them with resource limits (rss 2048 MB, 10 s per input) and fails on any
# finding; FUZZ_OUT gets the summary table. FUZZ_BIN_DIR / FUZZ_WORK: see tests/fuzz/run.sh.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_OUT     ?= build/fuzz/summary.txt
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  = -O1 -g -std=c11 -Wall -Wextra -D_GNU_SOURCE -fopenmp -Ilib -Icalib -Ikernels -Itests/fuzz $(FUZZ_SAN)
FUZZ_OBJ     = $(LIB_SRC:%.c=build/fuzz/obj/%.o) build/fuzz/obj/calib/builtin_data.o
FUZZ_BIN     = $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
# The host code only (lib/gpu_stub.c, no kernels): no CUDA libraries to carry to a fuzzing machine.
FUZZ_LDLIBS  = -lcjson -lzstd -larchive -lpcre2-8 -lm

build/fuzz/obj/%.o: %.c $(wildcard lib/*.h calib/*.h kernels/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/obj/calib/builtin_data.o: calib/builtin_data.S $(CALIB_DATA)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -c $< -o $@

build/fuzz/libreap_fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libreap_fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libreap_fuzz.a $(FUZZ_LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_OUT=$(FUZZ_OUT) sh tests/fuzz/run.sh

fuzz-bundle: fuzz-build
	@sh tests/fuzz/bundle.sh dist/fuzz $(FUZZ_BIN)
