package goexe

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
)

// Key identifies the contents of an executable file: the device and inode it
// was opened from and its build ID. Processes running the same file share a
// Key, so their binary is inspected once.
type Key struct {
	Dev, Ino uint64
	BuildID  string
}

// Binary is what goexe knows about one Go executable. All addresses are
// link-time virtual addresses; add a running PIE process's load bias before
// using them in that process. A Binary is safe for concurrent use.
type Binary struct {
	// Path is the path the file was opened from (for /proc/PID/exe: the link target).
	Path string
	Key  Key
	Arch Arch
	// GoVersion is the toolchain version from the build info, e.g. "go1.26.8"
	// (GOEXPERIMENT suffixes such as " X:nodwarf5" are kept).
	GoVersion string
	Version   Version
	// MainModule is the main module path ("command-line-arguments" for a file build).
	MainModule string
	// BuildSettings are the build info settings ("-buildmode", "CGO_ENABLED", "GOAMD64", ...).
	BuildSettings map[string]string
	BuildMode     string // "exe", "pie", ...
	CGO           bool   // built with CGO_ENABLED=1 (the build setting)
	// UsesCgo reports that runtime/cgo is linked in (the binary really calls
	// C): a CGO_ENABLED=1 build of pure Go code does not link it.
	UsesCgo  bool
	Trimpath bool
	GOAMD64  string // "v1".."v4" on amd64, "" elsewhere
	// Stripped reports that the file has no .symtab (function names then come
	// from .gopclntab only, data symbols are unknown).
	Stripped bool
	HasDWARF bool
	// PIE reports an ET_DYN file: its load bias is only known at run time.
	PIE     bool
	BuildID string
	// TextStart is runtime.text, the base of every pclntab function entry.
	TextStart uint64
	// TextSource says how TextStart was found: "go.module" (1.26+
	// firstmoduledata), "moduledata" (scan of .noptrdata/.data), "symtab"
	// (runtime.text, when no moduledata validates), "symtab (X said 0x...)"
	// when .symtab contradicted X, or ".text section (internal linking)" as
	// the last resort for binaries the build settings say were linked by Go.
	TextSource string
	Segments   []Segment

	Probes  ProbePoints
	Globals RuntimeGlobals
	Layout  Layout

	// Attachable reports that memsight can trace finalizers in this binary:
	// a supported Go version, and runtime.queuefinalizer and the finalizer
	// call site were both located. Reason says why not when false.
	Attachable bool
	Reason     string

	ef      *elfFile
	closer  io.Closer
	funcs   []Func           // sorted by Entry, duplicates kept
	byName  map[string][]int // name -> indexes into funcs
	pclntab []byte           // .gopclntab contents
	pcAddr  uint64           // .gopclntab address

	syms      symtabCache
	secs      sectionCache
	dwarf     dwarfCache
	closeOnce sync.Once
	closeErr  error

	ext binaryExt // symbolizer state, see initExt
}

// Open inspects the Go executable at path. It works on /proc/PID/exe links
// (other mount namespaces, deleted files). The file stays open until Close.
//
// Errors wrap ErrBadELF, ErrNotGo or ErrUnsupportedGo. Once the build info
// was read (an unsupported Go version, a bad or unusable .gopclntab) the
// Binary is returned along with the error: it carries the version and build
// fields for display, Attachable is false and Reason says why.
func Open(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	b, err := OpenReader(f, fi.Size(), path)
	if b == nil {
		f.Close()
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		b.Key.Dev, b.Key.Ino = uint64(st.Dev), uint64(st.Ino)
	}
	b.closer = f
	return b, err
}

// OpenReader inspects the Go executable read from r (size bytes). It is the
// pure core of Open: Key.Dev and Key.Ino stay zero and Close does not close r.
// Errors are as for Open.
func OpenReader(r io.ReaderAt, size int64, path string) (b *Binary, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("inspecting %s: parser panic (%v): %w", path, p, ErrBadELF)
		}
	}()
	ef, err := openELF(r, size)
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", path, err)
	}
	b = &Binary{
		Path:     path,
		Arch:     ef.arch(),
		PIE:      ef.f.Type == elf.ET_DYN,
		Segments: ef.segments(),
		Stripped: ef.section(".symtab") == nil,
		HasDWARF: ef.section(".debug_info") != nil || ef.section(".zdebug_info") != nil,
		BuildID:  ef.buildID(),
		ef:       ef,
		Probes:   ProbePoints{Missing: map[string]string{}},
	}
	b.Key.BuildID = b.BuildID
	if err := b.readBuildInfo(); err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", path, err)
	}
	if err := checkSupported(b.Version, b.GoVersion); err != nil {
		b.Reason = err.Error()
		return b, fmt.Errorf("inspecting %s: %w", path, err)
	}
	if err := b.loadFuncTable(); err != nil {
		b.Reason = err.Error()
		return b, fmt.Errorf("inspecting %s: %w", path, err)
	}
	b.UsesCgo = b.linksRuntimeCgo()
	b.Probes = findProbes(b)
	extErr := b.initExt()
	b.Globals = findGlobals(b)
	b.Layout = findLayout(b)
	b.Attachable, b.Reason = attachable(b, extErr)
	return b, nil
}

// attachable decides Binary.Attachable and Binary.Reason.
func attachable(b *Binary, extErr error) (bool, string) {
	switch {
	// Every Missing reason starts with the function it is about.
	case b.Probes.QueueFinalizer == nil:
		return false, b.Probes.Missing[ptQueueFinalizer]
	case b.Probes.FinalizerCall == nil:
		return false, b.Probes.Missing[ptFinalizerCall]
	case extErr != nil:
		return false, "preparing symbolization: " + extErr.Error()
	}
	return true, ""
}

// Close releases the file opened by Open. It is idempotent. A Binary handed
// out by a Cache is shared and must not be closed by its users.
func (b *Binary) Close() error {
	b.closeOnce.Do(func() {
		if b.closer != nil {
			b.closeErr = b.closer.Close()
		}
	})
	if errors.Is(b.closeErr, os.ErrClosed) {
		return nil
	}
	return b.closeErr
}

// linksRuntimeCgo reports whether any function of package runtime/cgo is in
// the function table (works on stripped binaries: pclntab keeps the names).
func (b *Binary) linksRuntimeCgo() bool {
	for _, f := range b.Funcs() {
		if strings.HasPrefix(f.Name, "runtime/cgo.") {
			return true
		}
	}
	return false
}
