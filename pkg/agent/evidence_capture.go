package agent

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/profiles"
)

// evidenceQueue bounds the captures waiting; beyond, a finding's evidence
// is dropped and counted (EvidenceStats.Dropped).
const evidenceQueue = 64

// captureEvery bounds the profile reads of a flapping finding: one
// capture per process, kind and fire or resolve in this time; the others
// keep the sample only.
const captureEvery = time.Minute

// recentCapture records a capture of j's kind on j's process now and
// returns the ID of the previous one when it was less than every ago ("":
// none, read the profiles).
func (pf *profiler) recentCapture(j evidenceJob, every time.Duration) string { //nolint:unparam // tests vary every
	k := captureKey{j.pid, j.finding.Kind, j.resolved}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	now := time.Now()
	if last, ok := pf.captured[k]; ok && last.start.Equal(j.start) && now.Sub(last.at) < every {
		return last.id
	}
	for key, c := range pf.captured { // forget the old ones: the map stays small
		if now.Sub(c.at) >= every {
			delete(pf.captured, key)
		}
	}
	pf.captured[k] = lastCapture{at: now, start: j.start, id: model.EvidenceID(j.pid, j.finding.Kind, j.finding.Since)}
	return ""
}

type captureKey struct {
	pid      int
	kind     string
	resolved bool
}

type lastCapture struct {
	at, start time.Time
	id        string
}

// evidenceJob is a finding that fired or resolved on a process.
type evidenceJob struct {
	pid      int
	start    time.Time // the watch's start
	proc     model.Process
	finding  model.Finding
	sample   *model.Sample
	resolved bool
	gone     string // the process is no longer watched (why): nothing is read
	at       time.Time
}

// pidFindings are the findings active on a watched process, as the evidence
// loop last heard of them, and its last sample.
type pidFindings struct {
	start  time.Time
	proc   model.Process
	last   *model.Sample
	active map[string]model.Finding
}

// findingTracker notices findings firing and resolving, sample by sample.
type findingTracker struct {
	mu    sync.Mutex
	byPID map[int]*pidFindings
}

// noteFindings is called by a process's worker with each new sample: a
// finding that appears is queued for its evidence, one that is gone for
// its resolution. Without findings it costs a map lookup.
func (a *Agent) noteFindings(pid int, start time.Time, proc model.Process, s *model.Sample) {
	tr := &a.pf.track
	tr.mu.Lock()
	pf := tr.byPID[pid]
	if pf != nil && !pf.start.Equal(start) {
		pf = nil
	}
	if pf == nil && len(s.Findings) == 0 {
		tr.mu.Unlock()
		return
	}
	if pf == nil {
		pf = &pidFindings{start: start, active: map[string]model.Finding{}}
		tr.byPID[pid] = pf
	}
	pf.proc, pf.last = proc, s
	var jobs []evidenceJob
	seen := make(map[string]bool, len(s.Findings))
	for _, f := range s.Findings {
		seen[f.Kind] = true
		if _, ok := pf.active[f.Kind]; !ok {
			jobs = append(jobs, evidenceJob{pid: pid, start: start, proc: proc, finding: f, sample: s, at: s.Time})
		}
		pf.active[f.Kind] = f
	}
	for kind, f := range pf.active {
		if !seen[kind] {
			delete(pf.active, kind)
			jobs = append(jobs, evidenceJob{pid: pid, start: start, proc: proc, finding: f, sample: s, resolved: true, at: s.Time})
		}
	}
	if len(pf.active) == 0 {
		delete(tr.byPID, pid)
	}
	tr.mu.Unlock()
	for _, j := range jobs {
		a.queueEvidence(j)
	}
}

// findingsGone resolves the findings of a process no longer watched (why:
// exited, exec, ...), with its last sample and no profiles.
func (a *Agent) findingsGone(pid int, why string) {
	tr := &a.pf.track
	tr.mu.Lock()
	pf := tr.byPID[pid]
	delete(tr.byPID, pid)
	tr.mu.Unlock()
	if pf == nil || why == "stopped" { // the agent stopping resolves nothing
		return
	}
	now := time.Now()
	for _, f := range pf.active {
		a.queueEvidence(evidenceJob{pid: pid, start: pf.start, proc: pf.proc, finding: f, sample: pf.last, resolved: true, gone: why, at: now})
	}
}

func (a *Agent) queueEvidence(j evidenceJob) {
	select {
	case a.pf.jobs <- j:
	default:
		a.pf.dropped.Add(1)
		a.log.Warn("evidence queue full: not keeping the evidence of a finding", "pid", j.pid, "kind", j.finding.Kind, "resolved", j.resolved)
	}
}

// evidenceLoop captures the queued evidence until ctx is done.
func (a *Agent) evidenceLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-a.pf.jobs:
			a.capture(ctx, j)
		}
	}
}

// capture reads the profiles of a job's process and stores the snapshot.
func (a *Agent) capture(ctx context.Context, j evidenceJob) {
	id := model.EvidenceID(j.pid, j.finding.Kind, j.finding.Since)
	snap := &model.EvidenceSnapshot{Time: j.at, Finding: j.finding, Sample: j.sample, Profiles: map[string][]byte{}, Errors: map[string]string{}}
	proc := j.proc
	if j.gone != "" {
		snap.Errors["profiles"] = "the process is no longer watched (" + j.gone + "): nothing could be read"
	} else if prev := a.pf.recentCapture(j, captureEvery); prev != "" {
		snap.Errors["profiles"] = "not read: the profiles of this finding of this process were read less than " + captureEvery.String() + " ago (" + prev + ")"
	} else if p, err := a.captureProfiles(ctx, j, snap); err != nil {
		snap.Errors["profiles"] = err.Error()
	} else {
		proc = p
	}
	if len(snap.Errors) == 0 {
		snap.Errors = nil
	}
	if j.resolved {
		if !a.pf.ev.resolved(id, snap) {
			a.log.Debug("evidence of a resolved finding: the bundle is gone", "id", id)
		}
		return
	}
	a.pf.ev.fired(&model.Evidence{ID: id, PID: j.pid, Process: proc, Kind: j.finding.Kind, Since: j.finding.Since, Fired: snap})
	a.log.Debug("evidence kept", "id", id, "profiles", snap.Names)
}

// captureProfiles reads the goroutine profile (and census) and the heap
// profile of j's process into snap; for a growth finding that fired, the
// heap profile at the start of the growth window and the difference too.
func (a *Agent) captureProfiles(ctx context.Context, j evidenceJob, snap *model.EvidenceSnapshot) (model.Process, error) {
	t, p, err := a.profileTarget(j.pid)
	if err != nil {
		return j.proc, err
	}
	if err := a.profileSlot(ctx, true); err != nil {
		return p, err
	}
	defer func() { <-a.pf.sem }()
	o := profiles.Options{MaxBytes: a.pf.cfg.ReadBudget}
	if g, err := profiles.Goroutine(t, o); err != nil {
		snap.Errors[model.ProfileGoroutine] = profileErr(j.pid, model.ProfileGoroutine, err).Error()
	} else {
		c := *g.Census
		c.Stacks = nil
		snap.Goroutines = &c
		addProfile(snap, model.ProfileGoroutine, g.Profile)
	}
	h, err := profiles.Heap(t, o)
	if err != nil {
		snap.Errors[model.ProfileHeap] = profileErr(j.pid, model.ProfileHeap, err).Error()
		return p, nil
	}
	addProfile(snap, model.ProfileHeap, h.Profile)
	if j.resolved || (j.finding.Kind != model.KindHeapGrowth && j.finding.Kind != model.KindRSSGrowth) {
		return p, nil
	}
	window := a.tunables().Detect.GrowthWindow
	base, ok := a.pf.ring.baseline(j.pid, j.start, j.finding.Since.Add(-window))
	if !ok {
		snap.Errors["heap_diff"] = "no earlier heap profile kept (the process is watched for less than one heap ring interval, or the ring is off)"
		return p, nil
	}
	bt := base.Time
	snap.BaseTime = &bt
	addProfile(snap, "heap_base", h.At(base))
	addProfile(snap, "heap_diff", h.Diff(base))
	return p, nil
}

// addProfile encodes a profile into the snapshot.
func addProfile(s *model.EvidenceSnapshot, name string, p *profile.Profile) {
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		s.Errors[name] = "encoding: " + err.Error()
		return
	}
	s.Profiles[name] = b.Bytes()
	s.Names = append(s.Names, name)
}
