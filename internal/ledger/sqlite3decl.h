// The part of SQLite's C interface custody's own SQL functions use
// (triggers.go, lookupfp.go), declared here rather than included:
// mattn/go-sqlite3 compiles SQLite into the binary but installs no
// header. The signatures and values are sqlite3.h's; TestTriggersToggle
// and TestLookupFingerprints fail if calling them does not do what they
// say.
#ifndef CUSTODY_SQLITE3DECL_H
#define CUSTODY_SQLITE3DECL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;

int sqlite3_auto_extension(void (*)(void));
int sqlite3_db_config(sqlite3 *, int, ...);
int sqlite3_create_function_v2(sqlite3 *, const char *, int, int, void *,
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *), void (*)(void *));
sqlite3 *sqlite3_context_db_handle(sqlite3_context *);
void *sqlite3_aggregate_context(sqlite3_context *, int);
int sqlite3_value_int(sqlite3_value *);
long long sqlite3_value_int64(sqlite3_value *);
int sqlite3_value_type(sqlite3_value *);
const unsigned char *sqlite3_value_text(sqlite3_value *);
int sqlite3_value_bytes(sqlite3_value *);
void sqlite3_result_int(sqlite3_context *, int);
void sqlite3_result_int64(sqlite3_context *, long long);
void sqlite3_result_error(sqlite3_context *, const char *, int);

enum {
	custodyUTF8 = 1,                   // SQLITE_UTF8
	custodyDeterministic = 0x000000800, // SQLITE_DETERMINISTIC
	custodyDirectOnly = 0x000080000,    // SQLITE_DIRECTONLY
	custodyEnableTrigger = 1003,        // SQLITE_DBCONFIG_ENABLE_TRIGGER
	custodyInteger = 1,                 // SQLITE_INTEGER
	custodyText = 3,                    // SQLITE_TEXT
	custodyNull = 5,                    // SQLITE_NULL
};

#endif
