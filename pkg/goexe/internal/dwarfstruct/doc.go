// Package dwarfstruct reads struct layouts (sizes and member offsets) from
// one compile unit of a DWARF .debug_info stream.
//
// The Go linker puts every type DIE in the compile unit of package runtime,
// so the layouts of the runtime's structs need that unit only. Read streams
// the (decompressed) section, skips every other unit without keeping it,
// keeps the wanted unit in memory (up to a limit) and stops there: for a
// large binary that is a few MiB of decompression and about one MiB held
// for the duration of the call, instead of the whole DWARF.
//
// It does not locate or decompress sections (the caller passes readers) and
// resolves nothing outside the unit. The input is untrusted: every read is
// bounded and malformed input yields an error, never a panic.
package dwarfstruct
