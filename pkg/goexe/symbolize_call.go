package goexe

import "slices"

// Bounds of the per-binary cache of decoded call sites (about 100 KiB at
// most): when either is reached the cache starts over.
const (
	maxRetSiteFuncs = 1024
	maxRetSites     = 16384
)

// IsReturnAddress reports whether the link-time pc directly follows a call
// instruction (CALL on amd64, BL/BLR on arm64) of the function holding it:
// what every return address on a goroutine stack must satisfy. Functions are
// decoded once and their call sites cached.
func (b *Binary) IsReturnAddress(pc uint64) bool {
	f, ok := b.FuncAt(pc)
	if !ok || pc == f.Entry || pc-f.Entry > maxFuncDecode {
		return false
	}
	b.ext.retMu.Lock()
	sites, ok := b.ext.retSites[f.Entry]
	b.ext.retMu.Unlock()
	if !ok {
		insts, err := b.Decode(f)
		if err != nil {
			return false
		}
		sites = []uint32{}
		for _, in := range insts {
			if in.Call {
				sites = append(sites, uint32(in.Next()-f.Entry))
			}
		}
		slices.Sort(sites)
		b.ext.retMu.Lock()
		if b.ext.retSites == nil || len(b.ext.retSites) >= maxRetSiteFuncs || b.ext.retCount+len(sites) > maxRetSites {
			b.ext.retSites, b.ext.retCount = map[uint64][]uint32{}, 0
		}
		if _, dup := b.ext.retSites[f.Entry]; !dup {
			b.ext.retSites[f.Entry] = sites
			b.ext.retCount += len(sites)
		}
		b.ext.retMu.Unlock()
	}
	_, found := slices.BinarySearch(sites, uint32(pc-f.Entry))
	return found
}
