package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current schema")

// fill sets every exported field reachable from v (a pointer) to a value
// derived from its position: pointers allocated, slices and maps of one
// element, strings named after their field, numbers counting up. Two
// structs with the same fields in the same order fill alike, whatever
// their Go type's name or package, so a golden of their JSON catches any
// change of a field name, type or nullability.
func fill(v any) {
	n := 0
	fillValue(reflect.ValueOf(v).Elem(), "v", &n)
}

var timeType = reflect.TypeFor[time.Time]()

func fillValue(v reflect.Value, name string, n *int) {
	*n++
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 12, 0, *n, 0, time.UTC)))
		return
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fillValue(v.Field(i), f.Name, n)
			}
		}
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), name, n)
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillValue(v.Index(0), name, n)
	case v.Kind() == reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillValue(k, name+"Key", n)
		fillValue(e, name, n)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case v.Kind() == reflect.Interface:
		v.Set(reflect.ValueOf(name))
	case v.Kind() == reflect.String:
		v.SetString(name)
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.CanInt():
		v.SetInt(int64(*n))
	case v.CanUint():
		v.SetUint(uint64(*n))
	case v.CanFloat():
		v.SetFloat(float64(*n) + 0.25)
	}
}

// schemaProfiles serves one evidence bundle.
type schemaProfiles struct{ ev *model.Evidence }

func (p schemaProfiles) Profile(context.Context, int, string, bool) (*model.Profile, error) {
	return nil, model.ErrNotWatched
}

func (p schemaProfiles) Evidence(id string) (*model.Evidence, bool) { return p.ev, id == p.ev.ID }

func (p schemaProfiles) EvidenceList() []*model.Evidence { return []*model.Evidence{p.ev} }

// TestSchemaGolden pins the JSON schema of what memsight prints and
// serves: the sample (one line of `memsight attach -o json`, and the body
// of /api/v1/processes/{pid}), with every field set and with none, the
// API's bodies, the goroutine census (`memsight goroutines -o json`), the
// leak report (`memsight goroutines --leaks -o json`) and the process list
// (`memsight ps -o json`). The golden
// files change only when the schema does (go test -update).
func TestSchemaGolden(t *testing.T) {
	var full model.Sample
	fill(&full)
	var proc model.Process
	fill(&proc)
	proc.PID, proc.State, proc.Sample = full.PID, model.StateWatching, &full
	var ev model.Evidence
	fill(&ev)
	zero := &model.Sample{Time: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), PID: 2}
	snap := model.Snapshot{Time: zero.Time, Processes: []model.Process{proc, {PID: 2, State: model.StateWatching, Sample: zero}}}
	h, err := New(Config{Source: &fakeSource{snap: snap}, Profiles: schemaProfiles{&ev}, Address: "node-1:9464", Node: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) []byte {
		code, body := fetch(t, "GET", srv.URL+path)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return []byte(body)
	}
	indent := func(v any) []byte {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	var census model.Census
	fill(&census)
	var report model.LeakReport
	fill(&report)
	ps := make([]model.GoProcess, 1)
	fill(&ps[0])
	for name, got := range map[string][]byte{
		"sample.golden":        get("/api/v1/processes/" + strconv.Itoa(full.PID)),
		"sample_empty.golden":  get("/api/v1/processes/2"),
		"processes.golden":     get("/api/v1/processes"),
		"findings.golden":      get("/api/v1/findings"),
		"evidence.golden":      get("/api/v1/evidence/" + ev.ID),
		"evidence_list.golden": get("/api/v1/evidence"),
		"targets.golden":       get("/api/v1/targets"),
		"census.golden":        indent(&census),
		"leaks.golden":         indent(&report),
		"ps.golden":            indent(ps),
	} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed: the JSON schema must stay the same (go test -update if the change is meant)\ngot:\n%s\nwant:\n%s", name, got, want)
		}
	}
}
