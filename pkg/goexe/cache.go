package goexe

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Cache maps processes to inspected binaries. Binaries are keyed by
// (device, inode, build ID) so every process running one executable shares a
// single parse. It is safe for concurrent use and holds at most a number of
// entries and of bytes (the heap memory its binaries keep, a few hundred
// KiB each whatever the executable's size), evicting the least recently
// used. Failures (ErrNotGo, ...) are cached too, so non-Go processes cost
// one cheap header read each time.
//
// Binaries returned by ForPID are shared: their users must not Close them.
// An evicted Binary is not closed explicitly (a user may still hold it); its
// file and mapping are released when the Binary becomes unreachable, or by
// Cache.Close.
type Cache struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64 // sum of the entries' size
	entries  map[Key]*list.Element
	lru      *list.List // of *cacheEntry, most recently used first
}

type cacheEntry struct {
	key   Key
	ready chan struct{} // closed when b and err are set
	b     *Binary
	err   error
	size  int64 // bytes accounted for the entry once filled
}

// DefaultCacheBytes is the byte bound of NewCache: room for a hundred or
// more binaries.
const DefaultCacheBytes = 32 << 20

// failedEntrySize is what a cached failure counts for.
const failedEntrySize = 512

// NewCache returns a Cache holding at most max binaries (at least 1) and
// DefaultCacheBytes.
func NewCache(max int) *Cache { return NewCacheLimits(max, DefaultCacheBytes) }

// NewCacheLimits returns a Cache holding at most max binaries (at least 1)
// keeping at most maxBytes of memory between them (one binary is kept
// whatever its size).
func NewCacheLimits(max int, maxBytes int64) *Cache {
	if max < 1 {
		max = 1
	}
	return &Cache{max: max, maxBytes: maxBytes, entries: map[Key]*list.Element{}, lru: list.New()}
}

// ForPID returns the binary of process pid, reading procRoot/PID/exe
// (procRoot "" means /proc). The link works for executables in other mount
// namespaces and for deleted files. Errors are as for Open.
func (c *Cache) ForPID(pid int, procRoot string) (*Binary, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	exe := filepath.Join(procRoot, strconv.Itoa(pid), "exe")
	f, err := os.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("opening executable of pid %d: %w", pid, err)
	}
	key, size, err := fileKey(f, true)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("identifying executable of pid %d: %w", pid, err)
	}
	e, owner := c.lookup(key)
	if !owner {
		f.Close()
		<-e.ready
		return e.b, e.err
	}
	defer close(e.ready)
	path := exe
	if target, err := os.Readlink(exe); err == nil {
		path = target
	}
	e.b, e.err = openFile(f, size, path, key)
	kept := int64(failedEntrySize)
	if e.b != nil {
		e.b.Key = key
		kept = e.b.retained
	}
	c.account(e, kept)
	return e.b, e.err
}

// fileKey computes the Key of an open file: fstat for (dev, inode) and,
// withBuildID, the build ID note. Files that are not ELF get an empty build
// ID; inspecting them reports what is wrong.
func fileKey(f *os.File, withBuildID bool) (Key, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return Key{}, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Key{}, 0, errors.New("no device and inode in stat result")
	}
	key := Key{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	if !withBuildID {
		return key, fi.Size(), nil
	}
	if ef, err := openELF(f, fi.Size()); err == nil {
		key.BuildID = ef.buildID()
	}
	return key, fi.Size(), nil
}

// lookup returns the entry for key, creating it when absent. owner is true
// for the caller that must fill a new entry.
func (c *Cache) lookup(key Key) (e *cacheEntry, owner bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry), false
	}
	e = &cacheEntry{key: key, ready: make(chan struct{})}
	c.entries[key] = c.lru.PushFront(e)
	c.evict()
	return e, true
}

// account sets the size of a filled entry and evicts what no longer fits.
func (c *Cache) account(e *cacheEntry, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; !ok || el.Value != e {
		return // evicted while it was being filled
	}
	e.size = size
	c.bytes += size
	c.evict()
}

// evict drops least recently used entries while the cache holds more than
// max entries or maxBytes, keeping the most recent one.
func (c *Cache) evict() {
	for c.lru.Len() > c.max || (c.bytes > c.maxBytes && c.lru.Len() > 1) {
		last := c.lru.Back()
		e := last.Value.(*cacheEntry)
		c.lru.Remove(last)
		delete(c.entries, e.key)
		c.bytes -= e.size
	}
}

// Bytes returns the memory the cached binaries keep, as counted against
// the cache's byte bound.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len returns the number of cached binaries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Close closes every cached binary and empties the cache. Binaries still in
// use by callers stop being able to read their file.
func (c *Cache) Close() error {
	c.mu.Lock()
	var done []*cacheEntry
	for el := c.lru.Front(); el != nil; el = el.Next() {
		done = append(done, el.Value.(*cacheEntry))
	}
	c.entries = map[Key]*list.Element{}
	c.lru.Init()
	c.bytes = 0
	c.mu.Unlock()
	var errs []error
	for _, e := range done {
		<-e.ready
		if e.b != nil {
			errs = append(errs, e.b.Close())
		}
	}
	return errors.Join(errs...)
}
