// Fault injection for the crash tests, in the manner of FoundationDB's and
// TiKV's failpoints. Off, and nearly free, unless BACKFILLD_FAILPOINTS names
// some, e.g. BACKFILLD_FAILPOINTS="writer.crash:1,fetcher.crash" (a count
// fires that many times; no count fires every time). Never set in
// production: it exists so that tests can kill one actor of a real daemon.

#pragma once

namespace backfilld {

/// Whether the failpoint `name` fires now.
bool failpoint(const char* name);

} // namespace backfilld
