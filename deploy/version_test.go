package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	versionFile = "VERSION"
	imageRepo   = "ghcr.io/memsight/memsight"
)

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// releaseVersion is the VERSION file's version (0.1.0): the one place every
// other version is stamped from.
func releaseVersion(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(string(readFile(t, versionFile)))
	if !semver.MatchString(v) {
		t.Fatalf("VERSION %q: want SemVer without a v (0.1.0)", v)
	}
	return v
}

// TestVersionsAgree: the Makefile stamps binaries and image tags from
// VERSION; the chart's version is VERSION and its appVersion (the image tag
// it deploys by default) v+VERSION, which the kustomize base deploys too; a
// tagged commit's tag is v+VERSION.
func TestVersionsAgree(t *testing.T) {
	rel := releaseVersion(t)
	tag := "v" + rel

	mk := string(readFile(t, makefile))
	for _, want := range []string{"RELEASE  := $(shell cat deploy/VERSION)", "VERSION  := v$(RELEASE)", "-X main.version=$(VERSION)"} {
		if !strings.Contains(mk, want) {
			t.Errorf("Makefile lacks %q: binaries and images must be stamped from VERSION", want)
		}
	}

	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	if chart.Version != rel || chart.AppVersion != tag {
		t.Errorf("Chart.yaml version %q appVersion %q: want %q and %q (VERSION)", chart.Version, chart.AppVersion, rel, tag)
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	if values.Image.Repository != imageRepo || (values.Image.Tag != "" && values.Image.Tag != tag) {
		t.Errorf("values.yaml image %s:%q: want %s with tag \"\" (the appVersion) or %s", values.Image.Repository, values.Image.Tag, imageRepo, tag)
	}

	var kust struct {
		Images []struct {
			Name   string `json:"name"`
			NewTag string `json:"newTag"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(kustomizeDir, "kustomization.yaml")), &kust); err != nil {
		t.Fatal(err)
	}
	if len(kust.Images) != 1 || kust.Images[0].Name != imageRepo || kust.Images[0].NewTag != tag {
		t.Errorf("kustomization.yaml images %+v: want %s with newTag %s", kust.Images, imageRepo, tag)
	}

	// Every image the manifests and the rendered chart deploy has this tag.
	images := map[string][]string{}
	for _, f := range yamlFiles(t, kustomizeDir) {
		images[f] = imageRefs(readFile(t, f))
	}
	images["the chart, rendered"] = imageRefs(renderChart(t, "memsight", nil))
	// memsight's own image has this tag; the helpers (the helm test's curl,
	// kube-rbac-proxy) are pinned to a version of theirs.
	for src, refs := range images {
		for _, ref := range refs {
			repo, ver, _ := strings.Cut(ref, ":")
			switch {
			case repo == imageRepo && ver != tag:
				t.Errorf("%s: image %s: want %s:%s", src, ref, imageRepo, tag)
			case repo != imageRepo && (ver == "" || ver == "latest"):
				t.Errorf("%s: image %s is not pinned to a version", src, ref)
			}
		}
	}
	if len(images["the chart, rendered"]) == 0 || len(images[filepath.Join(kustomizeDir, "daemonset.yaml")]) == 0 {
		t.Errorf("found no image in the chart or the DaemonSet: %v", images)
	}

	// The docs name the current image.
	docImage := regexp.MustCompile(regexp.QuoteMeta(imageRepo) + `:([A-Za-z0-9._-]+)`)
	for _, doc := range []string{"../README.md", "README.md"} {
		for _, m := range docImage.FindAllStringSubmatch(string(readFile(t, doc)), -1) {
			if m[1] != tag {
				t.Errorf("%s names %s: want %s:%s", doc, m[0], imageRepo, tag)
			}
		}
	}

	// A tagged commit is the release of its VERSION.
	if out, err := exec.Command("git", "tag", "--points-at", "HEAD").Output(); err == nil {
		for _, g := range strings.Fields(string(out)) {
			if strings.HasPrefix(g, "v") && g != tag {
				t.Errorf("HEAD is tagged %s but VERSION says %s", g, rel)
			}
		}
	}
}

var imageLine = regexp.MustCompile(`(?m)^\s*-?\s*image:\s*["']?([^"'\s]+)`)

func imageRefs(manifest []byte) []string {
	var refs []string
	for _, m := range imageLine.FindAllSubmatch(manifest, -1) {
		refs = append(refs, string(m[1]))
	}
	return refs
}

// TestNoLatestTag: nothing that deploys memsight (manifests, the chart, the
// docs' commands) names an image by :latest or without a tag.
func TestNoLatestTag(t *testing.T) {
	latest := regexp.MustCompile(`[A-Za-z0-9./_-]+:latest\b`)
	var files []string
	files = append(files, yamlFiles(t, ".")...)
	for _, dir := range []string{".", "..", "../docs"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		files = append(files, m...)
	}
	files = append(files, dockerfile, makefile)
	for _, f := range files {
		if m := latest.Find(readFile(t, f)); m != nil {
			t.Errorf("%s names %s: reference a versioned tag (the VERSION file's)", f, m)
		}
	}
	for _, ref := range imageRefs(renderChart(t, "memsight", nil)) {
		if i := strings.LastIndex(ref, ":"); i < 0 || strings.Contains(ref[i:], "/") {
			t.Errorf("rendered chart: image %s has no tag", ref)
		}
	}
}

// yamlFiles lists the YAML files under dir.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
