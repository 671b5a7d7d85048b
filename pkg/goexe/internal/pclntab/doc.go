// Package pclntab decodes the Go 1.20+ PC/line table (.gopclntab) of a Go
// executable: the function table, per-PC stack-pointer deltas, file and line
// numbers, PCDATA/FUNCDATA tables and the inline tree.
//
// It works on bytes only. It does not find the table in an ELF file, read
// process memory or know load biases: callers pass the table, the link-time
// text start (moduledata.text) and, for inline expansion, the bytes at
// moduledata.gofunc. The input is untrusted: every read is bounds-checked and
// malformed input yields an error or a "not found" result, never a panic.
package pclntab
