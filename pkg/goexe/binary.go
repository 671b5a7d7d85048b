package goexe

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
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

	im     *image
	ef     *elfFile
	closer io.Closer

	// .gopclntab: address, file offset and size; the table decoded from it
	// (from the mapping) and the index of the runtime's function names.
	pcAddr, pcOff, pcSize uint64
	tab                   *pclntab.Table
	names                 funcIndex

	syms     symtabIndex
	md       *moduledataFinder // only while Open runs
	retained int64             // heap bytes this Binary keeps, for the Cache

	unmapCleanup runtime.Cleanup
	closeOnce    sync.Once
	closeErr     error

	ext binaryExt // symbolizer state, see initExt
}

// Open inspects the Go executable at path. It works on /proc/PID/exe links
// (other mount namespaces, deleted files). The file is mapped read-only and
// stays open until Close.
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
	key, size, err := fileKey(f, false)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	return openFile(f, size, path, key)
}

// openFile inspects an open file: maps it, inspects the mapping and takes
// over f (closed by Close, or now when nothing usable came out).
func openFile(f *os.File, size int64, path string, key Key) (*Binary, error) {
	im := &image{r: f, size: size}
	if size >= minELFSize {
		// Without a mapping (a file that cannot be mapped) view copies.
		im.m, _ = mapFile(f, size)
	}
	b, err := openImage(im, path)
	if b == nil {
		if im.m != nil {
			im.m.unmap()
		}
		f.Close()
		return nil, err
	}
	b.Key.Dev, b.Key.Ino = key.Dev, key.Ino
	b.closer = f
	if im.m != nil {
		// A Binary dropped without Close (one the Cache evicted) releases
		// its mapping when it becomes unreachable; its users keep it
		// reachable while they call it (recoverTo).
		b.unmapCleanup = runtime.AddCleanup(b, (*mapping).unmap, im.m)
	}
	return b, err
}

// OpenReader inspects the Go executable read from r (size bytes). It is the
// pure core of Open: Key.Dev and Key.Ino stay zero and Close does not close r.
// Without a mapping, the tables the hot paths decode (.gopclntab, the inline
// trees) are read into memory. Errors are as for Open.
func OpenReader(r io.ReaderAt, size int64, path string) (*Binary, error) {
	return openImage(&image{r: r, size: size}, path)
}

// openImage inspects im.
func openImage(im *image, path string) (b *Binary, err error) {
	oldFault := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(oldFault)
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("inspecting %s: %s: %w", path, describePanic(p), ErrBadELF)
		}
	}()
	ef, err := openELF(im.r, im.size)
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
		im:       im,
		ef:       ef,
		Probes:   ProbePoints{Missing: map[string]string{}},
	}
	b.md = &moduledataFinder{b: b}
	defer func(b *Binary) { b.md = nil }(b) // only needed while inspecting
	b.Key.BuildID = b.BuildID
	if err := b.readBuildInfo(); err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", path, err)
	}
	if err := checkSupported(b.Version, b.GoVersion); err != nil {
		b.Reason = err.Error()
		return b, fmt.Errorf("inspecting %s: %w", path, err)
	}
	if err := b.loadFuncTable(); err != nil {
		b.tab = nil
		b.Reason = err.Error()
		return b, fmt.Errorf("inspecting %s: %w", path, err)
	}
	b.UsesCgo = b.names.cgo
	b.Probes = findProbes(b)
	extErr := b.initExt()
	b.Globals = findGlobals(b)
	b.Layout = findLayout(b)
	b.Attachable, b.Reason = attachable(b, extErr)
	b.retained = b.retainedBytes()
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

// Close releases the file opened by Open and its mapping. It is idempotent.
// A Binary handed out by a Cache is shared and must not be closed by its
// users. After Close, the methods that read the file return errors or "not
// found"; a call running while Close runs may also return a wrong answer
// (never crash).
func (b *Binary) Close() error {
	b.closeOnce.Do(func() {
		if b.im != nil && b.im.m != nil {
			b.unmapCleanup.Stop()
			b.im.m.unmap()
		}
		if b.closer != nil {
			if err := b.closer.Close(); !errors.Is(err, os.ErrClosed) {
				b.closeErr = err
			}
		}
	})
	return b.closeErr
}

// retainedBytes estimates the heap memory the Binary keeps: its name
// indexes, layout and probe maps, ELF headers, and the most the call-site
// cache can grow to; without a mapping also the tables read into memory.
func (b *Binary) retainedBytes() int64 {
	n := int64(16 << 10) // the Binary, build info, probes, globals
	n += int64(cap(b.names.keys)+cap(b.syms.keys)) * 8
	n += int64(len(b.ef.f.Sections)+len(b.ef.f.Progs)) * 256
	n += int64(len(b.Layout.Fields)+len(b.Layout.Consts)+len(b.Layout.Names)+len(b.BuildSettings)) * 96
	n += maxRetSiteFuncs*96 + maxRetSites*4
	if b.im.m == nil {
		n += int64(b.pcSize) + int64(len(b.ext.gofunc))
	}
	return n
}
