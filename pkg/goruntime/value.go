package goruntime

import (
	"fmt"
	"strconv"
)

// Uint is an unsigned value read from the target, or unknown with a reason.
type Uint struct {
	V     uint64
	Known bool
	Why   string // why it is unknown
}

func knownUint(v uint64) Uint { return Uint{V: v, Known: true} }

func unknownUint(format string, args ...any) Uint {
	return Uint{Why: fmt.Sprintf(format, args...)}
}

func (u Uint) String() string {
	if !u.Known {
		return "unknown (" + u.Why + ")"
	}
	return strconv.FormatUint(u.V, 10)
}

// Int is a signed value read from the target, or unknown with a reason.
type Int struct {
	V     int64
	Known bool
	Why   string
}

func knownInt(v int64) Int { return Int{V: v, Known: true} }

func unknownInt(format string, args ...any) Int {
	return Int{Why: fmt.Sprintf(format, args...)}
}

func (i Int) String() string {
	if !i.Known {
		return "unknown (" + i.Why + ")"
	}
	return strconv.FormatInt(i.V, 10)
}

// Bool is a flag read from the target, or unknown with a reason.
type Bool struct {
	V     bool
	Known bool
	Why   string
}

func knownBool(v bool) Bool { return Bool{V: v, Known: true} }

func unknownBool(format string, args ...any) Bool {
	return Bool{Why: fmt.Sprintf(format, args...)}
}

func (b Bool) String() string {
	if !b.Known {
		return "unknown (" + b.Why + ")"
	}
	return strconv.FormatBool(b.V)
}

// Text is a string read from the target, or unknown with a reason.
type Text struct {
	V     string
	Known bool
	Why   string
}

func knownText(v string) Text { return Text{V: v, Known: true} }

func unknownText(format string, args ...any) Text {
	return Text{Why: fmt.Sprintf(format, args...)}
}

func (t Text) String() string {
	if !t.Known {
		return "unknown (" + t.Why + ")"
	}
	return t.V
}
