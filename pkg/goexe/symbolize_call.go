package goexe

// maxRetSiteFuncs bounds the per-binary cache of decoded call sites.
const maxRetSiteFuncs = 4096

// IsReturnAddress reports whether the link-time pc directly follows a call
// instruction (CALL on amd64, BL/BLR on arm64) of the function holding it:
// what every return address on a goroutine stack must satisfy. Functions are
// decoded once and their call sites cached.
func (b *Binary) IsReturnAddress(pc uint64) bool {
	f, ok := b.FuncAt(pc)
	if !ok || pc == f.Entry {
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
		sites = map[uint64]bool{}
		for _, in := range insts {
			if in.Call {
				sites[in.Next()] = true
			}
		}
		b.ext.retMu.Lock()
		if b.ext.retSites == nil || len(b.ext.retSites) >= maxRetSiteFuncs {
			b.ext.retSites = map[uint64]map[uint64]bool{}
		}
		b.ext.retSites[f.Entry] = sites
		b.ext.retMu.Unlock()
	}
	return sites[pc]
}
