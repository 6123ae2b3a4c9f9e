# dlake — PGXS build
#
# Sources are picked up by wildcard so that each module (one directory under
# src/) owns its files.  The extension script dlake--$(VERSION).sql is built by
# concatenating src/sql/*.sql in name order: each module owns one fragment.

EXTENSION = dlake
EXTVERSION = 0.1.0
MODULE_big = dlake

SRCS := $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c))
OBJS = $(SRCS:.c=.o)

DATA_built = dlake--$(EXTVERSION).sql
SQL_FRAGMENTS := $(sort $(wildcard src/sql/*.sql))

# Offline regression tests (sql/*.sql + expected/*.out); they need dlake
# preloaded, so they run through test/run_regress.sh against the test cluster.
REGRESS := $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=dlake
NO_INSTALLCHECK = 0

PG_CPPFLAGS = -I$(srcdir)/src -Wall -Werror -Wno-declaration-after-statement
SHLIB_LINK = -lcurl -lcrypto -lcjson -lz -lzstd -lsnappy -llz4 -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)

PG_MAJOR := $(shell $(PG_CONFIG) --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
ifneq ($(PG_MAJOR),15)
$(error dlake targets PostgreSQL 15; pg_config reports $(PG_MAJOR))
endif

include $(PGXS)

dlake--$(EXTVERSION).sql: $(SQL_FRAGMENTS)
	cat $(SQL_FRAGMENTS) > $@

EXTRA_CLEAN = dlake--$(EXTVERSION).sql
