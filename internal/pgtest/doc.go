// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the server named by HOOKD_TEST_POSTGRES_URL, selected through
// search_path and dropped when the test ends, so tests run in parallel
// against one server without seeing each other's tables.
//
// Tests that use it are skipped when HOOKD_TEST_POSTGRES_URL is unset
// (.ci/run sets it). NewSchema does the same for any server, without a
// test: "hookd bench --database" measures on such a schema.
package pgtest
