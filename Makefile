# The two commands: `make run` and `make test`. Everything else is a helper.
BUILD      ?= build/release
TESTBUILD  ?= build/test
FUZZBUILD  ?= build/fuzz
FUZZ_RUNS  ?= 40000
FUZZ_SECONDS ?= 60

.PHONY: all deps build install run test unit interop fuzz fuzz-build bench clean

all: build

deps:
	@scripts/deps

PREFIX     ?= /usr/local

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# programs, man pages and the sample config under PREFIX (inside DESTDIR if set)
install: build
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

run: build
	@scripts/run-demo $(BUILD)/posternd

$(TESTBUILD)/build.ninja:
	meson setup $(TESTBUILD) --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) --buildtype=debug -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false

fuzz-build: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)

# Unit, interop and a short fuzz smoke; the last line is "N passed, N failed".
test: deps $(TESTBUILD)/build.ninja $(FUZZBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	ninja -C $(FUZZBUILD)
	@scripts/run-tests $(TESTBUILD) $(FUZZBUILD) $(FUZZ_RUNS)

fuzz: fuzz-build
	@scripts/run-fuzz $(FUZZBUILD) $(FUZZ_SECONDS)

bench: build
	@scripts/deps --bench
	@bench/run.sh $(BUILD)/posternd

clean:
	rm -rf build
