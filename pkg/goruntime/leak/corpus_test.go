package leak

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// corpusDefault are the cases run by default: one per kind of primitive and
// pattern (nil channel, empty select, channel, select, WaitGroup, Mutex on
// the heap and the stack, RWMutex, Cond, mixed, no leak), the main
// goroutine in select{}, and GoKer kernels of real bugs. Set
// MEMSIGHT_LEAK_CORPUS=all for every case of the corpus (about 2 minutes
// per toolchain).
var corpusDefault = map[string]bool{
	"NilRecv": true, "SelectNoCases": true, "ChanSend": true, "Select": true, "WaitGroup": true,
	"MutexStack": true, "MutexHeap": true, "RWMutexRLock": true, "Cond": true, "Mixed": true,
	"NoLeakGlobal": true, "SelectNoCasesMain": true, "NCastLeak": true, "Timeout": true,
	"Cockroach7504": true, "Etcd5509": true, "Grpc1275": true, "Moby30408": true, "Syncthing5795": true,
	"Kubernetes38669": true,
}

// corpusTally accumulates a toolchain's results.
type corpusTally struct {
	truth, found, falsePos int // runtime-leaked goroutines, of them found by memsight, memsight-only
	cases                  int
	siteMiss               []string // expected leak sites memsight did not report
	markSeconds            float64
	bytesRead              uint64
}

// TestCorpus runs Go's own goroutine-leak corpus: each case leaks, holds,
// memsight scans it, and then the program writes the runtime's goroutineleak
// profile as the truth. Bars: memsight reports no goroutine the runtime does
// not (zero false positives), and finds ≥ 90 % of the goroutines the runtime
// reports over the non-flaky cases; every expected site of a non-flaky
// case is reported.
func TestCorpus(t *testing.T) {
	all := os.Getenv("MEMSIGHT_LEAK_CORPUS") == "all"
	for _, tc := range []string{testutil.GoNext, testutil.GoInstalled} {
		t.Run(tc, func(t *testing.T) {
			root := goroot(t, tc)
			cases := corpusCases(t, root)
			exes := map[bool]string{false: buildCorpus(t, tc, root, ""), true: buildCorpus(t, tc, root, "goker")}
			var tally corpusTally
			for _, c := range cases {
				// By default 1.26 runs the default cases outside goker/.
				if !all && (!corpusDefault[c.name] || tc == testutil.GoInstalled && c.goker) {
					continue
				}
				t.Run(c.name, func(t *testing.T) { runCorpusCase(t, exes[c.goker], c, &tally) })
			}
			recall := 1.0
			if tally.truth > 0 {
				recall = float64(tally.found) / float64(tally.truth)
			}
			t.Logf("%s: %d cases: runtime reported %d leaked goroutines in non-flaky cases, memsight found %d (recall %.1f%%), %d reported that the runtime did not; %d expected sites missed %v; marks %.1fs, %d MiB read",
				tc, tally.cases, tally.truth, tally.found, 100*recall, tally.falsePos, len(tally.siteMiss), tally.siteMiss, tally.markSeconds, tally.bytesRead>>20)
			if recall < 0.9 {
				t.Errorf("recall %.1f%% below 90%%", 100*recall)
			}
		})
	}
}

// runCorpusCase runs one case and compares memsight's verdict with the
// runtime's.
func runCorpusCase(t *testing.T, exe string, c corpusCase, tally *corpusTally) {
	env := []string{"GODEBUG=asyncpreemptoff=1"}
	if c.simple {
		env = append(env, "GOMAXPROCS=1")
	}
	p := startProc(t, exe, env, c.name)
	if _, _, err := p.waitLine("LEAKREADY", 0, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m := openMarker(t, p.pid, exe, Config{})
	rep := scan(t, m)
	if _, err := fmt.Fprintln(p.in, "profile"); err != nil {
		t.Fatal(err)
	}
	_, begin, err := p.waitLine("PROFILE-BEGIN", 0, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := p.linesBetween(begin, "PROFILE-END", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	truth, all := map[uint64]truthLeak{}, map[uint64]truthLeak{}
	for _, g := range parseProfile(prof) {
		all[g.goid] = g
		if g.leaked {
			truth[g.goid] = g
		}
	}
	mine := leakedGoids(rep)
	tally.cases++
	tally.markSeconds += rep.Mark.Seconds
	tally.bytesRead += rep.Mark.BytesRead
	var fps []string
	for id, l := range mine {
		if _, ok := truth[id]; !ok {
			rt := "absent from the profile"
			if g, ok := all[id]; ok {
				rt = "[" + g.reason + "]"
			}
			fps = append(fps, fmt.Sprintf("goroutine %d %s [%s] created at %s (runtime: %s)", id, l.Function, l.WaitReason, l.CreationSite, rt))
		}
	}
	sort.Strings(fps)
	tally.falsePos += len(fps)
	for _, fp := range fps {
		t.Errorf("memsight reports leaked, the runtime does not: %s", fp)
	}
	if !c.flaky {
		tally.truth += len(truth)
		for id := range truth {
			if _, ok := mine[id]; ok {
				tally.found++
			}
		}
	}
	// Every expected site of a non-flaky case is among memsight's.
	var descs []string
	for _, l := range rep.Leaks {
		descs = append(descs, strings.TrimPrefix(l.Function, "main.")+"() ["+l.WaitReason+"]")
	}
	if !c.flaky {
		for _, re := range c.leaks {
			found := false
			for _, d := range descs {
				found = found || re.MatchString(d)
			}
			if !found {
				tally.siteMiss = append(tally.siteMiss, c.name+":"+re.String())
				t.Logf("expected leak %s not reported (memsight: %q)", re, descs)
			}
		}
	}
	var missed []string
	for id, g := range truth {
		if _, ok := mine[id]; !ok {
			missed = append(missed, fmt.Sprintf("%d %s", id, g.desc))
		}
	}
	sort.Strings(missed)
	if len(missed) > 10 {
		missed = append(missed[:10], fmt.Sprintf("... %d more", len(missed)-10))
	}
	t.Logf("runtime %d leaked, memsight %d (%d groups), missed %v; mark %.2fs, %d KiB read in %d reads, %d objects, conservative %q",
		len(truth), len(mine), len(rep.Leaks), missed, rep.Mark.Seconds, rep.Mark.BytesRead>>10, rep.Mark.Reads, rep.Mark.ObjectsMarked, rep.Mark.Conservative)
}

// TestCorpusNoProfile: a go1.26 build without
// GOEXPERIMENT=goroutineleakprofile has the runtime's detector but no
// profile, so the truth is the corpus test's expected sites: every expected
// leak of a non-flaky case is reported, and every reported leak matches an
// expected or flaky one of its case. By default a few cases; every case
// with MEMSIGHT_LEAK_CORPUS=all.
func TestCorpusNoProfile(t *testing.T) {
	all := os.Getenv("MEMSIGHT_LEAK_CORPUS") == "all"
	tc := testutil.GoInstalled
	root := goroot(t, tc)
	cases := corpusCases(t, root)
	exes := map[bool]string{false: buildCorpusExp(t, tc, root, "", false), true: buildCorpusExp(t, tc, root, "goker", false)}
	some := map[string]bool{"ChanRecv": true, "WaitGroup": true, "Cockroach13197": true, "Moby7559": true}
	checked, missed, unexpected := 0, 0, 0
	for _, c := range cases {
		if !all && !some[c.name] {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if c.name == "SpawnGC" {
				t.Skip("SpawnGC writes goroutineleak profiles itself: it needs GOEXPERIMENT=goroutineleakprofile")
			}
			env := []string{"GODEBUG=asyncpreemptoff=1"}
			if c.simple {
				env = append(env, "GOMAXPROCS=1")
			}
			p := startProc(t, exes[c.goker], env, c.name)
			if _, _, err := p.waitLine("LEAKREADY", 0, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			rep := scan(t, openMarker(t, p.pid, exes[c.goker], Config{}))
			var descs []string
			for _, l := range rep.Leaks {
				d := strings.TrimPrefix(l.Function, "main.") + "() [" + l.WaitReason + "]"
				descs = append(descs, d)
				if !anyMatch(c.leaks, d) {
					unexpected++
					t.Errorf("reported %d × %s: not an expected leak of %s", l.Count, d, c.name)
				}
			}
			if c.flaky {
				return
			}
			for _, re := range c.leaks {
				checked++
				if !anyMatch([]*regexp.Regexp{re}, descs...) {
					missed++
					t.Errorf("expected leak %s not reported (memsight: %q)", re, descs)
				}
			}
		})
	}
	t.Logf("go1.26.8 without the profile: %d expected sites of non-flaky cases checked, %d missed, %d reported leaks not expected", checked, missed, unexpected)
}

// anyMatch reports whether any regexp matches any of the strings.
func anyMatch(res []*regexp.Regexp, ss ...string) bool {
	for _, re := range res {
		for _, s := range ss {
			if re.MatchString(s) {
				return true
			}
		}
	}
	return false
}
