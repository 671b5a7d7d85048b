package process

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestListSkipsVanishing lists processes for about a second while children
// are started and killed, so some exit between being enumerated and read.
func TestListSkipsVanishing(t *testing.T) {
	r := newReader(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		spawned  int
		spawnErr error
	)
	for i := range 4 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				cmd := exec.Command("sleep", "10")
				if (i+n)%2 == 0 {
					cmd = exec.Command("true")
				}
				if err := cmd.Start(); err != nil {
					mu.Lock()
					spawnErr = err
					mu.Unlock()
					return
				}
				time.Sleep(time.Duration(n%3) * 100 * time.Microsecond)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				mu.Lock()
				spawned++
				mu.Unlock()
			}
		})
	}
	lists := 0
	for ctx.Err() == nil {
		ps, err := r.List(context.Background())
		if err != nil {
			cancel()
			wg.Wait()
			t.Fatalf("List while processes exit: %v", err)
		}
		if !slices.ContainsFunc(ps, func(p Process) bool { return p.PID == os.Getpid() }) {
			t.Error("List misses the test process")
		}
		lists++
	}
	wg.Wait()
	if spawnErr != nil {
		t.Fatal(spawnErr)
	}
	t.Logf("%d listings while %d children came and went", lists, spawned)
	if lists < 5 || spawned < 50 {
		t.Errorf("only %d listings and %d children: not enough churn to test anything", lists, spawned)
	}
}

func TestListCanceled(t *testing.T) {
	r := newReader(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List(canceled) = %v, want context.Canceled", err)
	}
}
