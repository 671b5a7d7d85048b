package dwarfstruct

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Struct is the layout of one struct type.
type Struct struct {
	Size   int64
	Fields map[string]int64 // dotted member path -> byte offset; paths that did not resolve are absent
}

// Limits bound the work of Read.
type Limits struct {
	// MaxScan is how many bytes of the stream one pass reads before it
	// gives up looking for the unit.
	MaxScan int64
	// MaxPasses bounds the passes over the stream: a type referenced
	// backwards (before the entry naming it) takes another pass.
	MaxPasses int
}

// Stats says how much work Read did.
type Stats struct {
	Passes int
	Read   int64 // bytes of the stream read, all passes
}

// ErrNoUnit means the stream has no compile unit of that name holding any
// of the wanted structs within Limits.MaxScan bytes.
var ErrNoUnit = errors.New("compile unit not found")

// Buffer sizes: peekSize is how much of a unit is looked at for its name
// (and the stream's buffer); an entry must fit in maxEntry bytes, and the
// entries of the unit are decoded from a window of windowSize.
const (
	peekSize   = 64 << 10
	maxEntry   = 64 << 10
	windowSize = 256 << 10
	// history is how much of the window before the current entry is kept
	// when it slides: a struct type is written just before its typedef,
	// so a member whose type is the typedef needs the struct from here.
	history = 64 << 10
)

// Read streams .debug_info to the compile units named unitName and
// resolves, for each wanted struct name, the struct type of that name among
// the unit's top-level entries: its size and the offsets of the wanted
// dotted member paths ("sched.sp": member sched, then member sp of its type,
// through typedefs). The first unit of that name holding any wanted struct
// is the one used; structs not in it are absent from the result. open
// returns the decompressed .debug_info from its start; it is called again
// for another pass when a member's type comes before the member in the
// unit (the Go linker writes types after their users, so one pass is the
// rule). abbrevData is the whole .debug_abbrev section. Memory use is a few
// buffers whatever the size of the unit.
func Read(open func() io.Reader, abbrevData []byte, unitName string, want map[string][]string, lim Limits) (map[string]Struct, Stats, error) {
	res := &resolver{want: want, out: map[string]Struct{}, pending: map[uint64][]target{}}
	var st Stats
	typesUnit := int64(-1)
	tables := map[uint64]map[uint64]abbrev{}
	for st.Passes < max(lim.MaxPasses, 1) {
		st.Passes++
		s := &stream{r: bufio.NewReaderSize(open(), peekSize), abbrevData: abbrevData, tables: tables}
		unit, err := s.walk(unitName, typesUnit, lim, res)
		st.Read += s.pos
		if err != nil {
			return nil, st, err
		}
		if unit < 0 {
			return nil, st, fmt.Errorf("%s in the first %d bytes: %w", unitName, s.pos, ErrNoUnit)
		}
		typesUnit = unit
		if len(res.behind) == 0 {
			break
		}
		for off, ts := range res.behind {
			res.pending[off] = append(res.pending[off], ts...)
		}
		res.behind = nil
	}
	return res.out, st, nil
}

// stream walks the units of a .debug_info stream.
type stream struct {
	r          *bufio.Reader
	pos        int64 // section offset of the next byte of r
	abbrevData []byte
	tables     map[uint64]map[uint64]abbrev // abbreviation tables by offset
	window     []byte
}

func (s *stream) read(p []byte) error {
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	if err != nil {
		return fmt.Errorf("reading .debug_info at %#x: %w: %w", s.pos, err, ErrFormat)
	}
	return nil
}

func (s *stream) discard(n int64) error {
	for n > 0 {
		k, err := s.r.Discard(int(min(n, 1<<30)))
		s.pos += int64(k)
		n -= int64(k)
		if err != nil {
			return fmt.Errorf("skipping .debug_info at %#x: %w: %w", s.pos, err, ErrFormat)
		}
	}
	return nil
}

// walk finds the unit that holds the wanted structs (the one starting at
// section offset typesUnit when that is known) and feeds its entries to
// res. It returns the unit's offset, -1 when there is none.
func (s *stream) walk(name string, typesUnit int64, lim Limits, res *resolver) (int64, error) {
	for s.pos < lim.MaxScan {
		if _, err := s.r.Peek(1); errors.Is(err, io.EOF) {
			break
		}
		start := s.pos
		u, body, err := s.header()
		if err != nil {
			return -1, err
		}
		var use bool
		switch {
		case u == nil:
		case typesUnit >= 0:
			use = start == typesUnit
		default:
			use = s.named(u, body, name)
		}
		if !use {
			if s.pos+body > lim.MaxScan {
				break
			}
			if err := s.discard(body); err != nil {
				return -1, err
			}
			continue
		}
		before := len(res.found)
		if err := s.walkUnit(u, body, res); err != nil {
			return -1, err
		}
		if typesUnit >= 0 || len(res.found) > before {
			return start, nil
		}
	}
	return -1, nil
}

// named reports whether the unit whose body is next is a compile unit
// named name (looking at its first entry only).
func (s *stream) named(u *unit, body int64, name string) bool {
	peek, _ := s.r.Peek(int(min(body, peekSize)))
	u.data, u.base = peek, uint64(s.pos)
	first, err := u.entry(0)
	return err == nil && (first.tag == tagCompileUnit || first.tag == tagPartialUnit) && string(first.name) == name
}

// walkUnit decodes the entries of the unit whose body (body bytes) is next
// in the stream, through a sliding window, and feeds them to res.
func (s *stream) walkUnit(u *unit, body int64, res *resolver) error {
	end := s.pos + body
	if need := int(min(body, windowSize)); len(s.window) < need {
		s.window = make([]byte, need)
	}
	buf, n, at := s.window, 0, 0
	u.base = uint64(s.pos)
	depth := 0
	res.cur = nil
	for {
		if n-at < maxEntry && s.pos < end {
			cut := max(0, at-history)
			copy(buf, buf[cut:n])
			u.base += uint64(cut)
			n -= cut
			at -= cut
			k := int(min(int64(len(buf)-n), end-s.pos))
			if err := s.read(buf[n : n+k]); err != nil {
				return err
			}
			n += k
		}
		if at >= n {
			break
		}
		u.data = buf[:n]
		e, err := u.entry(at)
		if err != nil {
			return err
		}
		at = e.next
		if e.null {
			if depth--; depth <= 0 {
				break
			}
			continue
		}
		res.u = u
		res.visit(e, depth)
		if e.children {
			if depth++; depth > maxDepth {
				return fmt.Errorf("entries nested over %d deep: %w", maxDepth, ErrFormat)
			}
		}
		if depth == 0 {
			break // a unit entry without children
		}
	}
	return s.discard(end - s.pos)
}

// DWARF 5 unit types.
const (
	utCompile = 1
	utPartial = 3
)

// header reads a unit header and returns the unit (without data) and the
// size of what follows the header. u is nil for a unit to skip.
func (s *stream) header() (u *unit, body int64, err error) {
	var b [12]byte
	start := uint64(s.pos)
	if err := s.read(b[:4]); err != nil {
		return nil, 0, err
	}
	length, offSize := uint64(le(b[:4])), 4
	if length == 0xffffffff {
		if err := s.read(b[:8]); err != nil {
			return nil, 0, err
		}
		length, offSize = le(b[:8]), 8
	} else if length >= 0xfffffff0 {
		return nil, 0, fmt.Errorf("unit at %#x: reserved length %#x: %w", start, length, ErrFormat)
	}
	if length > 1<<40 {
		return nil, 0, fmt.Errorf("unit at %#x: length %#x: %w", start, length, ErrFormat)
	}
	end := s.pos + int64(length)
	if err := s.read(b[:2]); err != nil {
		return nil, 0, err
	}
	u = &unit{start: start, version: int(le(b[:2])), offSize: offSize}
	if u.version < 2 || u.version > 5 {
		return nil, 0, fmt.Errorf("unit at %#x: DWARF version %d: %w", start, u.version, ErrFormat)
	}
	var abbrevOff uint64
	unitType := uint8(utCompile)
	if u.version >= 5 {
		if err := s.read(b[:2+offSize]); err != nil {
			return nil, 0, err
		}
		unitType, u.addrSize, abbrevOff = b[0], int(b[1]), le(b[2:2+offSize])
	} else {
		if err := s.read(b[:offSize+1]); err != nil {
			return nil, 0, err
		}
		abbrevOff, u.addrSize = le(b[:offSize]), int(b[offSize])
	}
	body = end - s.pos
	if body < 0 {
		return nil, 0, fmt.Errorf("unit at %#x: header longer than the unit: %w", start, ErrFormat)
	}
	if unitType != utCompile && unitType != utPartial {
		return nil, body, nil
	}
	if u.addrSize != 4 && u.addrSize != 8 {
		return nil, 0, fmt.Errorf("unit at %#x: address size %d: %w", start, u.addrSize, ErrFormat)
	}
	u.base = uint64(s.pos)
	if u.abbrevs, err = s.abbrevs(abbrevOff); err != nil {
		return nil, 0, err
	}
	return u, body, nil
}

// maxTables bounds the distinct abbreviation tables parsed.
const maxTables = 64

func (s *stream) abbrevs(off uint64) (map[uint64]abbrev, error) {
	if t, ok := s.tables[off]; ok {
		return t, nil
	}
	if len(s.tables) >= maxTables {
		return nil, fmt.Errorf("over %d abbreviation tables: %w", maxTables, ErrFormat)
	}
	t, err := parseAbbrevs(s.abbrevData, off)
	if err != nil {
		return nil, err
	}
	s.tables[off] = t
	return t, nil
}

func le(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
