package goruntime

import (
	"errors"

	"github.com/memsight/memsight/pkg/model"
)

// ErrTooManyGoroutines means runtime.allgs holds more goroutines than a
// census was allowed to read (CensusOptions.MaxGoroutines).
var ErrTooManyGoroutines = errors.New("too many goroutines for one census")

// Census defaults and bounds.
const (
	defaultTopSites  = 10
	defaultWaiters   = 10
	defaultMaxStacks = 10_000
)

// CensusOptions configure Runtime.Census.
type CensusOptions struct {
	// MaxGoroutines bounds the entries of runtime.allgs (dead ones included)
	// a census reads: a bigger list fails with ErrTooManyGoroutines before
	// any g is read. 0 or more than 1<<20 means 1<<20.
	MaxGoroutines int
	// IncludeSystem makes the breakdowns (ByStatus, ByWaitReason, BySite,
	// OldestWaiters, Stacks) count system goroutines too. Without it they
	// cover the User goroutines, as the runtime's goroutine profile does.
	IncludeSystem bool
	// TopSites bounds BySite (0: 10; negative: every site).
	TopSites int
	// OldestWaiters is how many of the longest-waiting goroutines to list
	// (0: 10; negative: none). WaiterStacks reads their stacks.
	OldestWaiters int
	WaiterStacks  bool
	// Stacks reads the stack of every counted goroutine, up to MaxStacks
	// (0: 10000), and groups them by stack like the goroutine profile with
	// debug=1. It costs one or more reads per goroutine.
	Stacks    bool
	MaxStacks int
	// Now is CLOCK_MONOTONIC in nanoseconds (MonotonicNow) for wait ages;
	// 0 reads the clock.
	Now int64
}

func (o CensusOptions) withDefaults() CensusOptions {
	if o.MaxGoroutines <= 0 || o.MaxGoroutines > maxGoroutines {
		o.MaxGoroutines = maxGoroutines
	}
	if o.TopSites == 0 {
		o.TopSites = defaultTopSites
	}
	if o.OldestWaiters == 0 {
		o.OldestWaiters = defaultWaiters
	}
	if o.MaxStacks <= 0 {
		o.MaxStacks = defaultMaxStacks
	}
	return o
}

// Census walks runtime.allgs and counts the goroutines. It fails when
// allgs cannot be read or is longer than opts.MaxGoroutines; a g that
// cannot be read is skipped and counted in Unreadable.
func (r *Runtime) Census(opts CensusOptions) (*model.Census, error) {
	opts = opts.withDefaults()
	now := opts.Now
	if now == 0 {
		var err error
		if now, err = MonotonicNow(); err != nil {
			return nil, err
		}
	}
	ptrs, err := r.allgSnapshot(opts.MaxGoroutines)
	if err != nil {
		return nil, err
	}
	c := &model.Census{
		GoVersion: r.b.GoVersion, AllGs: len(ptrs), IncludeSystem: opts.IncludeSystem,
		ByStatus: map[string]int{}, ByWaitReason: map[string]int{}, Unknown: map[string]string{},
	}
	cls := r.newClassifier(c)
	t := newTally(r, opts, now, c)
	err = r.walkGs(ptrs, c, func(h gHead) {
		if h.dead() {
			c.Dead++
			return
		}
		c.Total++
		sys, varies := cls.system(h)
		if !sys {
			c.User++
			if varies {
				c.NumGoroutine-- // counted as system by sched.ngsys since its creation
			}
		}
		if sys && !opts.IncludeSystem {
			return
		}
		t.add(h)
	})
	if err != nil {
		return nil, err
	}
	c.System = c.Total - c.User
	c.NumGoroutine += c.User
	t.finish(c)
	if opts.Stacks {
		r.groupStacks(c, t.addrs)
	}
	if opts.WaiterStacks {
		r.waiterStacks(c, t.waiters)
	}
	if len(c.Unknown) == 0 {
		c.Unknown = nil
	}
	return c, nil
}
