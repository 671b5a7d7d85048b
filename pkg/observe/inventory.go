package observe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
)

// InventoryResult is the outcome of one scan.
type InventoryResult struct {
	Processes []model.GoProcess
	// Denied counts processes whose executable could not be opened for lack
	// of privileges (they may or may not be Go processes); DeniedPID is the
	// first of them (process.Reader.Denied says why).
	Denied    int
	DeniedPID int
}

// Inventory lists the Go processes visible through procs, inspecting each
// executable once per binary through cache. Non-Go processes and processes
// that exit during the scan are left out; a malformed binary is listed as
// not attachable with the reason.
func Inventory(ctx context.Context, procs *process.Reader, cache *goexe.Cache, self int) (InventoryResult, error) {
	list, err := procs.List(ctx)
	if err != nil {
		return InventoryResult{}, fmt.Errorf("listing processes: %w", err)
	}
	var res InventoryResult
	for _, p := range list {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if p.PID == self {
			continue
		}
		b, err := cache.ForPID(p.PID, procs.Root())
		gp := model.GoProcess{
			PID: p.PID, Comm: p.Comm, Exe: p.Exe, RSSBytes: p.RSS,
			ContainerID: p.ContainerID, PodUID: p.PodUID,
		}
		switch {
		case errors.Is(err, goexe.ErrNotGo), errors.Is(err, os.ErrNotExist):
			continue
		case errors.Is(err, os.ErrPermission):
			if res.Denied == 0 {
				res.DeniedPID = p.PID
			}
			res.Denied++
			continue
		case b == nil && err != nil:
			// Not parseable as a Go ELF at all (scripts, kernel threads, hostile files):
			// only report it if it claimed to be Go.
			if !errors.Is(err, goexe.ErrUnsupportedGo) {
				continue
			}
			gp.Reason = err.Error()
		case b != nil:
			fillBinary(&gp, b, err)
		}
		res.Processes = append(res.Processes, gp)
	}
	sort.Slice(res.Processes, func(i, j int) bool { return res.Processes[i].PID < res.Processes[j].PID })
	return res, nil
}

func fillBinary(gp *model.GoProcess, b *goexe.Binary, err error) {
	gp.GoVersion = b.GoVersion
	gp.MainModule = b.MainModule
	gp.BuildMode = b.BuildMode
	gp.Stripped = b.Stripped
	gp.PIE = b.PIE
	gp.CGO = b.UsesCgo
	gp.DWARF = b.HasDWARF
	gp.Attachable = b.Attachable && err == nil
	gp.Reason = b.Reason
	if err != nil && gp.Reason == "" {
		gp.Reason = err.Error()
	}
}
