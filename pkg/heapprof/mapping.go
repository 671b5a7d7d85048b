package heapprof

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// BuildID returns the build ID runtime/pprof gives the executable's
// mapping: the hex GNU build ID (the go command links one, derived from
// the Go build ID), else the Go build ID.
func BuildID(b *goexe.Binary) string {
	if data, _, err := b.Section(".note.gnu.build-id"); err == nil {
		if id, ok := gnuBuildID(data); ok {
			return id
		}
	}
	return b.BuildID
}

// gnuBuildID parses an ELF note section holding an NT_GNU_BUILD_ID note.
func gnuBuildID(data []byte) (string, bool) {
	le := binary.LittleEndian
	for len(data) >= 12 {
		namesz, descsz, typ := uint64(le.Uint32(data)), uint64(le.Uint32(data[4:])), le.Uint32(data[8:])
		nameEnd := 12 + (namesz+3)&^3
		descEnd := nameEnd + (descsz+3)&^3
		if nameEnd > uint64(len(data)) || nameEnd+descsz > uint64(len(data)) || 12+namesz > uint64(len(data)) {
			return "", false
		}
		if typ == 3 && string(bytes.TrimRight(data[12:12+namesz], "\x00")) == "GNU" && descsz > 0 {
			return fmt.Sprintf("%x", data[nameEnd:nameEnd+descsz]), true
		}
		if descEnd >= uint64(len(data)) {
			break
		}
		data = data[descEnd:]
	}
	return "", false
}
