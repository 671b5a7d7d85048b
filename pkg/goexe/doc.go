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
// Memory does not grow with the executable: Open maps the file read-only
// and decodes .gopclntab from the mapping on demand (only the pages touched
// become resident, file-backed), whole tables (.symtab, function names,
// relocations, DWARF) are streamed through small buffers, and what a Binary
// keeps in the heap is a few hundred KiB: compact indexes of the names of
// package runtime, the struct layouts and the probe points.
//
// Binaries are untrusted input. Every parser is bounded and a panic while
// parsing one binary, or a fault reading a file truncated under its
// mapping, is turned into an error for that binary.
package goexe
