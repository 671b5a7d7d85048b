// Package goexe answers "what is in this Go executable": Go version and build
// settings, the function table (from .symtab or, on stripped binaries, from
// .gopclntab), the addresses of runtime globals, runtime struct layouts, and the
// probe points memsight attaches to, each located by decoding the binary.
//
// goexe is pure: it reads a file and computes values that depend only on that
// file, so a result can be cached per (device, inode, build ID). It does not
// attach probes, read process memory or look at /proc beyond opening the
// executable; anything that depends on a running process (load bias, PID) is
// applied by the callers.
//
// Binaries are untrusted input. Every parser is bounded and a panic while
// parsing one binary is turned into an error for that binary.
package goexe
