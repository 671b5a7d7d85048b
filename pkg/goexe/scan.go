package goexe

import (
	"bytes"
)

// scanChunk is the buffer a sequential scan of a table reads into: whole
// tables (symbols, strings, relocations, data sections) are streamed through
// it, never read into memory at once and never touched through the mapping.
const scanChunk = 64 << 10

// scanRecords calls fn for every recSize-byte record of the size bytes at
// file offset off, in order, until fn returns false. A trailing partial
// record is ignored. rec is only valid during the call.
func (im *image) scanRecords(off, size uint64, recSize int, fn func(i int, rec []byte) bool) error {
	per := scanChunk / recSize
	buf := make([]byte, per*recSize)
	n := size / uint64(recSize)
	for i := uint64(0); i < n; i += uint64(per) {
		k := min(uint64(per), n-i)
		chunk := buf[:k*uint64(recSize)]
		if err := im.readAt(chunk, off+i*uint64(recSize)); err != nil {
			return err
		}
		for j := range int(k) {
			if !fn(int(i)+j, chunk[j*recSize:(j+1)*recSize]) {
				return nil
			}
		}
	}
	return nil
}

// maxString bounds one string of a string table.
const maxString = 1 << 20

// scanStrings calls fn for every NUL-terminated string of the string table
// of size bytes at file offset off, with the string's offset in the table,
// until fn returns false. A string longer than maxString, or one the table
// does not terminate, is skipped. s is only valid during the call.
func (im *image) scanStrings(off, size uint64, fn func(at uint64, s []byte) bool) error {
	buf := make([]byte, scanChunk)
	var carry []byte // start of a string cut by the end of the previous chunk
	carryAt := uint64(0)
	skipping := false // inside a string over maxString
	for pos := uint64(0); pos < size; {
		n := min(uint64(len(buf)), size-pos)
		chunk := buf[:n]
		if err := im.readAt(chunk, off+pos); err != nil {
			return err
		}
		start := uint64(0)
		for {
			i := bytes.IndexByte(chunk[start:], 0)
			if i < 0 {
				break
			}
			piece, at := chunk[start:start+uint64(i)], pos+start
			start += uint64(i) + 1
			switch {
			case skipping:
				skipping = false
				continue
			case carry != nil:
				piece, at = append(carry, piece...), carryAt
				carry = nil
				if len(piece) > maxString {
					continue
				}
			}
			if !fn(at, piece) {
				return nil
			}
		}
		if rest := chunk[start:]; len(rest) > 0 && !skipping {
			if carry == nil {
				carryAt = pos + start
			}
			carry = append(carry, rest...)
			if len(carry) > maxString {
				carry, skipping = nil, true
			}
		}
		pos += n
	}
	return nil
}
