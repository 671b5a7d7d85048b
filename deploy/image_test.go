package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	dockerfile = "../Dockerfile"
	makefile   = "../Makefile"
	gomod      = "../go.mod"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and the instructions that follow it.
type stage struct {
	base, name, platform string
	ins                  []instruction
}

func (s *stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages. It knows what this
// repository's Dockerfile uses: comments, blank lines, backslash
// continuations, FROM [--platform=P] image [AS name].
func parseDockerfile(t *testing.T, src []byte) []*stage {
	t.Helper()
	var stages []*stage
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(more + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := &stage{}
			if len(f) > 0 {
				if p, ok := strings.CutPrefix(f[0], "--platform="); ok {
					s.platform, f = p, f[1:]
				}
			}
			if len(f) == 0 {
				t.Fatalf("Dockerfile: FROM %s: want FROM [--platform=P] image [AS name]", in.args)
			}
			s.base = f[0]
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Fatalf("Dockerfile: FROM %s: want FROM [--platform=P] image [AS name]", in.args)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if cur.Len() != 0 {
		t.Fatal("Dockerfile ends with a continuation line")
	}
	return stages
}

var goDirective = regexp.MustCompile(`(?m)^go (\S+)$`)

var labelRE = regexp.MustCompile(`([A-Za-z0-9._-]+)=("[^"]*"|\S+)`)

// TestDockerfile checks the image the issue asks for: multi-stage, a static
// binary built with the committed BPF objects (no clang anywhere), a minimal
// final image (distroless static: CA certificates, no shell), the OCI labels
// with version, revision and creation time from build args (which make
// image passes), and memsight agent as the default command.
func TestDockerfile(t *testing.T) {
	src := readFile(t, dockerfile)
	stages := parseDockerfile(t, src)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	for _, s := range stages {
		for _, in := range s.ins {
			if a := strings.ToLower(in.args); strings.Contains(a, "clang") || strings.Contains(a, "go generate") || strings.Contains(a, "make generate") {
				t.Errorf("Dockerfile: %s %s: the image must build from the committed BPF objects, without clang", in.cmd, in.args)
			}
		}
	}

	// The build stage: the Go of go.mod, a static, trimmed binary.
	build := stages[0]
	m := goDirective.FindSubmatch(readFile(t, gomod))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	img, tag, _ := strings.Cut(build.base, ":")
	goVer, _, _ := strings.Cut(tag, "-")
	if img != "golang" || !sameMinorAtLeast(goVer, string(m[1])) {
		t.Errorf("build stage FROM %s: want golang:<go.mod's go %s or a later patch>", build.base, m[1])
	}
	var goBuild string
	for _, r := range build.all("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=${TARGETOS}", "GOARCH=${TARGETARCH}", "-trimpath", "-X main.version=${VERSION}", "-X main.revision=${REVISION}", "./cmd/memsight"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build stage: go build %q lacks %s", goBuild, want)
		}
	}
	// Multi-arch with buildx: the build stage runs natively and cross-compiles
	// (no emulation; the binary is pure Go), the final stage is the target's.
	if build.platform != "$BUILDPLATFORM" {
		t.Errorf("build stage FROM --platform=%q: want --platform=$BUILDPLATFORM, cross-compiling for TARGETOS/TARGETARCH", build.platform)
	}
	buildArgs := map[string]bool{}
	for _, a := range build.all("ARG") {
		name, _, _ := strings.Cut(a, "=")
		buildArgs[name] = true
	}
	for _, a := range []string{"TARGETOS", "TARGETARCH", "VERSION", "REVISION"} {
		if !buildArgs[a] {
			t.Errorf("build stage declares no ARG %s", a)
		}
	}

	// The final stage: distroless static, only the binary copied in, nothing run.
	final := stages[len(stages)-1]
	if final.platform != "" {
		t.Errorf("final stage FROM --platform=%s: the final stage must be the target platform's", final.platform)
	}
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") || strings.Contains(final.base, "debug") {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static (CA certificates, no shell)", final.base)
	}
	if runs := final.all("RUN"); len(runs) != 0 {
		t.Errorf("final stage runs %q: it must only copy the binary", runs)
	}
	if adds := final.all("ADD"); len(adds) != 0 {
		t.Errorf("final stage ADD %q: copy the binary from the build stage only", adds)
	}
	copies := final.all("COPY")
	if len(copies) != 1 || !strings.HasPrefix(copies[0], "--from="+build.name+" ") || build.name == "" {
		t.Fatalf("final stage COPY %q: want one COPY --from=%s of the binary", copies, build.name)
	}
	binPath := strings.Fields(copies[0])[2]

	var entry, cmd []string
	for _, p := range []struct {
		ins string
		dst *[]string
	}{{"ENTRYPOINT", &entry}, {"CMD", &cmd}} {
		v := final.all(p.ins)
		if len(v) != 1 || json.Unmarshal([]byte(v[0]), p.dst) != nil {
			t.Errorf("final stage %s %q: want one, in exec (JSON) form", p.ins, v)
		}
	}
	if !slices.Equal(entry, []string{binPath}) || !slices.Equal(cmd, []string{"agent"}) {
		t.Errorf("ENTRYPOINT %q CMD %q: want [%q] and [\"agent\"]", entry, cmd, binPath)
	}
	if u := final.all("USER"); len(u) != 1 || (u[0] != "0" && u[0] != "0:0" && u[0] != "root") {
		t.Errorf("final stage USER %q: want root, explicitly (the capabilities must be effective; docs/security.md)", u)
	}

	// OCI labels; the varying ones from ARGs of the final stage.
	labels := map[string]string{}
	for _, l := range final.all("LABEL") {
		for _, m := range labelRE.FindAllStringSubmatch(l, -1) {
			labels[m[1]] = strings.Trim(m[2], `"`)
		}
	}
	args := map[string]bool{}
	for _, a := range final.all("ARG") {
		name, _, _ := strings.Cut(a, "=")
		args[name] = true
	}
	for _, k := range []string{"title", "description", "source", "licenses"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("no label org.opencontainers.image.%s", k)
		}
	}
	for k, arg := range map[string]string{"version": "VERSION", "revision": "REVISION", "created": "CREATED"} {
		if got := labels["org.opencontainers.image."+k]; got != "${"+arg+"}" || !args[arg] {
			t.Errorf("label org.opencontainers.image.%s=%q: want ${%s} from an ARG of the final stage", k, got, arg)
		}
	}

	// make image and make image-push pass those args, and the version.
	mk := string(readFile(t, makefile))
	_, argsDef, ok := strings.Cut(mk, "\nIMAGE_BUILD_ARGS = ")
	if !ok {
		t.Fatal("Makefile defines no IMAGE_BUILD_ARGS")
	}
	argsDef = strings.ReplaceAll(argsDef, "\\\n", " ")
	argsDef, _, _ = strings.Cut(argsDef, "\n")
	for _, arg := range []string{"VERSION=$(VERSION)", "REVISION=", "CREATED="} {
		if !strings.Contains(argsDef, "--build-arg "+arg) {
			t.Errorf("IMAGE_BUILD_ARGS %q does not pass --build-arg %s", argsDef, arg)
		}
	}
	for _, target := range []string{"image", "image-push"} {
		_, recipe, ok := strings.Cut(mk, "\n"+target+":")
		if !ok {
			t.Fatalf("Makefile has no %s target", target)
		}
		recipe, _, _ = strings.Cut(recipe, "\n\n")
		if !strings.Contains(recipe, "$(IMAGE_BUILD_ARGS)") {
			t.Errorf("make %s does not pass $(IMAGE_BUILD_ARGS)", target)
		}
	}
	if _, recipe, _ := strings.Cut(mk, "\nimage-push:"); !strings.Contains(recipe, "buildx build --platform") {
		t.Error("make image-push does not build with docker buildx --platform")
	}
}

// sameMinorAtLeast reports whether Go version v (1.26.8) has want's major
// and minor (1.26.7) and at least its patch.
func sameMinorAtLeast(v, want string) bool {
	vp, wp := strings.Split(v, "."), strings.Split(want, ".")
	if len(vp) < 2 || len(wp) < 2 || vp[0] != wp[0] || vp[1] != wp[1] {
		return false
	}
	patch := func(p []string) string {
		if len(p) < 3 {
			return "0"
		}
		return p[2]
	}
	a, b := patch(vp), patch(wp)
	return len(a) > len(b) || len(a) == len(b) && a >= b
}
