package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// EventKind says what an Event reports.
type EventKind uint16

// Event kinds.
const (
	FinalizerStart EventKind = EventKind(memsightEventKindEV_FIN_START)
	FinalizerEnd   EventKind = EventKind(memsightEventKindEV_FIN_END)
	CleanupStart   EventKind = EventKind(memsightEventKindEV_CLEANUP_START)
	CleanupEnd     EventKind = EventKind(memsightEventKindEV_CLEANUP_END)
	STWEnd         EventKind = EventKind(memsightEventKindEV_STW_END)
	ProcessExit    EventKind = EventKind(memsightEventKindEV_EXIT)
	// ProcessExec: a process (any on the machine, watched or not) replaced
	// its program with exec. PID is the process; TID the thread that called
	// exec (a non-leader thread's exec takes over the leader's PID); Ns when
	// the new program was in place. Only when ExecEvents is true.
	ProcessExec EventKind = EventKind(memsightEventKindEV_EXEC)
)

func (k EventKind) String() string {
	switch k {
	case FinalizerStart:
		return "finalizer_start"
	case FinalizerEnd:
		return "finalizer_end"
	case CleanupStart:
		return "cleanup_start"
	case CleanupEnd:
		return "cleanup_end"
	case STWEnd:
		return "stw_end"
	case ProcessExit:
		return "process_exit"
	case ProcessExec:
		return "process_exec"
	}
	return fmt.Sprintf("EventKind(%d)", uint16(k))
}

// STW reasons (Go's stwReason, 1.21+) that belong to the GC, as in Event.Reason
// (the object's enum stw_reason).
const (
	STWReasonGCMarkTerm  = uint8(memsightStwReasonSTW_GC_MARK_TERM)
	STWReasonGCSweepTerm = uint8(memsightStwReasonSTW_GC_SWEEP_TERM)
)

// Event is one ring-buffer record: a finalizer or cleanup starting or
// returning, the end of a stop-the-world pause, a watched process exiting, or
// any process exec'ing.
type Event struct {
	Kind EventKind
	PID  int    // thread group ID (initial PID namespace)
	TID  int    // thread that hit the probe
	Ns   uint64 // CLOCK_MONOTONIC nanoseconds (see Now)
	// PC is the entry PC of the finalizer or cleanup function, as mapped in
	// the process (subtract the PIE load bias before symbolizing); 0 if unread.
	PC   uint64
	Goid uint64 // 0 when unknown
	// Duration: for *End, the time since the start (0 with NoStart); for
	// STWEnd, the pause from when Go started stopping the world.
	Duration time.Duration
	// Funcval is the *funcval of a starting finalizer or cleanup.
	Funcval uint64
	// STW: Reason is Go's stwReason; GCEnd is set when the restart ended a GC
	// cycle; GoNow is the runtime's own nanotime argument.
	Reason uint8
	GCEnd  bool
	GoNow  int64
	// NoStart: an end without a recorded start. NoPC: the PC was not read.
	// ByThread: goid unknown, cleanup start and end paired by thread.
	NoStart, NoPC, ByThread bool
	// Final holds the process's last counters (ProcessExit only).
	Final *Counters
}

// ErrReaderRunning means Run was called while another Run is reading.
var ErrReaderRunning = errors.New("probe events are already being read")

// Run reads events and calls fn for each, in order, until ctx is done; then
// it returns nil. Events arrive within Config.EventPoll of being recorded
// (sooner when many are pending). Only one Run may be active at a time.
func (p *Probes) Run(ctx context.Context, fn func(Event)) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("reading probe events: probes are closed")
	}
	if p.reader != nil {
		p.mu.Unlock()
		return ErrReaderRunning
	}
	rd, err := ringbuf.NewReader(p.objs.Events)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("opening ring buffer: %w", err)
	}
	p.reader = rd
	p.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = rd.Close() })
	defer func() {
		stop()
		_ = rd.Close()
		p.mu.Lock()
		p.reader = nil
		p.mu.Unlock()
	}()

	// The reader never blocks in epoll_wait: a goroutine blocked in a system
	// call for more than 10 ms has its P retaken by the Go runtime's sysmon,
	// which then polls every 20 µs again; with a wait of EventPoll renewed
	// ten times a second (and at each exec of the machine) that kept sysmon
	// busy: ≈ half of an idle agent's CPU, 1 % of a core during a build
	// (bench/churn.sh). So Run drains what is there without waiting and
	// sleeps on a Go timer; it comes back sooner after a large batch, as the
	// kernel side's early wakeup (event_submit) did.
	var rec ringbuf.Record
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		}
		n, err := p.drain(rd, &rec, fn)
		if errors.Is(err, ringbuf.ErrClosed) || ctx.Err() != nil {
			return nil // Close, or ctx done
		}
		if err != nil {
			return err
		}
		next := p.poll
		if n >= int(memsightLimitRINGBUF_BYTES)/8 {
			next = p.poll / 10
		}
		wait.Reset(next)
	}
}

// drain reads the records pending in rd without waiting and calls fn for
// each; it returns how many bytes it read (and ringbuf.ErrClosed once rd
// is closed).
func (p *Probes) drain(rd *ringbuf.Reader, rec *ringbuf.Record, fn func(Event)) (int, error) {
	rd.SetDeadline(time.Now()) // already past: epoll_wait does not block
	n := 0
	for {
		if err := rd.ReadInto(rec); err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				return n, nil
			case errors.Is(err, ringbuf.ErrClosed):
				return n, err
			}
			return n, fmt.Errorf("reading ring buffer: %w", err)
		}
		n += len(rec.RawSample)
		ev, err := decodeEvent(rec.RawSample)
		if err != nil {
			return n, err
		}
		fn(ev)
	}
}

func decodeEvent(raw []byte) (Event, error) {
	var e memsightEvent
	if _, err := binary.Decode(raw, binary.NativeEndian, &e); err != nil {
		return Event{}, fmt.Errorf("decoding %d-byte event: %w", len(raw), err)
	}
	ev := Event{
		Kind:     EventKind(e.Kind),
		PID:      int(e.Tgid),
		TID:      int(e.Tid),
		Ns:       e.TsNs,
		PC:       e.Pc,
		Goid:     e.Goid,
		Duration: time.Duration(e.DurationNs),
		NoStart:  e.Flags&uint16(memsightEventFlagEVF_NO_START) != 0,
		NoPC:     e.Flags&uint16(memsightEventFlagEVF_NO_PC) != 0,
		ByThread: e.Flags&uint16(memsightEventFlagEVF_BY_TID) != 0,
	}
	switch ev.Kind {
	case FinalizerStart, CleanupStart:
		ev.Funcval = e.Arg
	case STWEnd:
		ev.Reason = uint8(e.Reason)
		ev.GCEnd = e.Flags&uint16(memsightEventFlagEVF_GC_END) != 0
		ev.GoNow = int64(e.Arg)
	case ProcessExit:
		var x memsightExitEvent
		if _, err := binary.Decode(raw, binary.NativeEndian, &x); err != nil {
			return Event{}, fmt.Errorf("decoding %d-byte exit event: %w", len(raw), err)
		}
		c := countersOf(&x.State)
		ev.Final = &c
	}
	return ev, nil
}
