package pclntab

// funcIDTables are the FuncID names of Go 1.20 to 1.27 (funcIDTables[minor-20]),
// computed once: FuncIDName runs for every frame of every unwind.
var funcIDTables = func() (t [8][]string) {
	for i := range t {
		t[i] = buildFuncIDNames(20 + i)
	}
	return t
}()

// funcIDNames returns the FuncID names of Go 1.minor (nil when unknown); the
// slice is shared: do not modify it.
func funcIDNames(minor int) []string {
	if minor < 20 || minor > 27 {
		return nil
	}
	return funcIDTables[minor-20]
}

// FuncID names per Go minor version (abi.FuncID is an iota list that gained
// corostart in 1.22 and replaced runfinq with runFinalizers, runCleanups in
// 1.25). Read from internal/abi/symtab.go (runtime/symtab.go in 1.20) of
// go1.20.14 through go1.27.3.
func buildFuncIDNames(minor int) []string {
	base := []string{"normal", "abort", "asmcgocall", "asyncPreempt", "cgocallback"}
	tail := []string{"debugCallV2", "gcBgMarkWorker", "goexit", "gogo", "gopanic",
		"handleAsyncEvent", "mcall", "morestack", "mstart", "panicwrap", "rt0_go"}
	switch {
	case minor < 20 || minor > 27:
		return nil
	case minor <= 21:
		return concat(base, tail, []string{"runfinq", "runtime_main"}, rest())
	case minor <= 24:
		return concat(base, []string{"corostart"}, tail, []string{"runfinq", "runtime_main"}, rest())
	default:
		return concat(base, []string{"corostart"}, tail, []string{"runtime_main", "runFinalizers", "runCleanups"}, rest())
	}
}

func rest() []string { return []string{"sigpanic", "systemstack", "systemstack_switch", "wrapper"} }

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// FuncIDName returns the abi.FuncID name ("goexit", "asyncPreempt", ...) of id
// in Go 1.minor, or "" when the version or id is unknown.
func FuncIDName(minor int, id uint8) string {
	names := funcIDNames(minor)
	if int(id) >= len(names) {
		return ""
	}
	return names[id]
}

// FuncIDOf returns the numeric abi.FuncID of name in Go 1.minor.
func FuncIDOf(minor int, name string) (uint8, bool) {
	for i, n := range funcIDNames(minor) {
		if n == name {
			return uint8(i), true
		}
	}
	return 0, false
}
