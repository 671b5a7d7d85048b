package probe

import (
	"errors"
	"os"
	"testing"

	"github.com/memsight/memsight/pkg/process"
)

// TestErrPermission: a BPF permission error is a refused access like any
// other (process.ErrPermission), and keeps the system's error.
func TestErrPermission(t *testing.T) {
	err := permission(os.ErrPermission)
	if !errors.Is(err, ErrPermission) || !errors.Is(err, process.ErrPermission) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("%v does not match ErrPermission, process.ErrPermission and os.ErrPermission", err)
	}
}
