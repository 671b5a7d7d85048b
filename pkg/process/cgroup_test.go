package process

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// IDs used by the fixtures in testdata/cgroup.
const (
	fixCID       = "df0ca5cb5d973e284b1df81aa15bfa20d4d2271f6093274344dffb40b667ae26"
	fixNodeCID   = "eee6d59eb814ea9188336c0f5fb523964128b27ab8dfa68617da4d8f7ffa9dbb"
	fixPod       = "9c1e5b0e-3f5a-4c2d-8b7e-1a2b3c4d5e6f"
	fixPodU      = "9c1e5b0e_3f5a_4c2d_8b7e_1a2b3c4d5e6f"
	fixStaticPod = "a81259cef8e959c624df1d456e5d3297"
)

func TestParseCgroup(t *testing.T) {
	type want struct{ path, cid, pod, rt string }
	sysd := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fixPodU + ".slice/"
	best := "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + fixPodU + ".slice"
	cases := map[string]want{
		"v2-systemd-containerd":      {sysd + "cri-containerd-" + fixCID + ".scope", fixCID, fixPod, "containerd"},
		"v2-systemd-crio":            {sysd + "crio-" + fixCID + ".scope", fixCID, fixPod, "cri-o"},
		"v2-systemd-crio-container":  {best + "/crio-" + fixCID + ".scope/container", fixCID, fixPod, "cri-o"},
		"v2-systemd-crio-conmon":     {best + "/crio-conmon-" + fixCID + ".scope", "", fixPod, "cri-o"},
		"v2-systemd-docker":          {best + "/docker-" + fixCID + ".scope", fixCID, fixPod, "docker"},
		"v2-systemd-guaranteed":      {"/kubepods.slice/kubepods-pod" + fixPodU + ".slice/cri-containerd-" + fixCID + ".scope", fixCID, fixPod, "containerd"},
		"v2-systemd-static-pod":      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fixStaticPod + ".slice/cri-containerd-" + fixCID + ".scope", fixCID, fixStaticPod, "containerd"},
		"v2-systemd-pod-only":        {best, "", fixPod, ""},
		"v2-kind-kubelet-slice":      {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + fixPodU + ".slice/cri-containerd-" + fixCID + ".scope", fixCID, fixPod, "containerd"},
		"v2-cgroupfs-burstable":      {"/kubepods/burstable/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v2-cgroupfs-besteffort":     {"/kubepods/besteffort/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v2-cgroupfs-guaranteed":     {"/kubepods/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v2-docker-in-kind-cgroupfs": {"/docker/" + fixNodeCID + "/kubepods/besteffort/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v2-docker-cgroupfs":         {"/docker/" + fixCID, fixCID, "", "docker"},
		"v2-docker-systemd":          {"/system.slice/docker-" + fixCID + ".scope", fixCID, "", "docker"},
		"v2-podman":                  {"/machine.slice/libpod-" + fixCID + ".scope/container", fixCID, "", "podman"},
		"v2-podman-conmon":           {"/machine.slice/libpod-conmon-" + fixCID + ".scope", "", "", "podman"},
		"v2-user-slice":              {"/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope", "", "", ""},
		"v2-init-scope":              {"/init.scope", "", "", ""},
		"v2-root":                    {"/", "", "", ""},
		"v2-short-id":                {"/system.slice/docker-" + fixCID[:63] + ".scope", "", "", ""},
		"v2-uppercase-id":            {"/docker/" + strings.ToUpper(fixCID), "", "", ""},
		"v2-bad-pod-uid":             {best[:len(best)-len("f.slice")] + ".slice", "", "", ""},
		"v1-docker":                  {"/docker/" + fixCID, fixCID, "", "docker"},
		"v1-kubepods-cgroupfs":       {"/kubepods/burstable/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v1-memory-only":             {"/kubepods/besteffort/pod" + fixPod + "/" + fixCID, fixCID, fixPod, ""},
		"v1-cpu-only":                {"/docker/" + fixCID, fixCID, "", "docker"},
		"v1-systemd-colon":           {"/system.slice/containerd.service/kubepods-burstable-pod" + fixPodU + ".slice:cri-containerd:" + fixCID, fixCID, fixPod, "containerd"},
		"v1-user":                    {"/user.slice", "", "", ""},
		"hybrid-process-api":         {"/memsight-test-1" + best + "/cri-containerd-" + fixCID + ".scope", fixCID, fixPod, "containerd"},
		"hybrid-none":                {"/process_api/341de6b6adbdd882fc34609b3fa3a694", "", "", ""},
		"empty":                      {"", "", "", ""},
		"garbage":                    {"", "", "", ""},
	}
	files, err := filepath.Glob("testdata/cgroup/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("%d fixtures in testdata/cgroup, %d cases", len(files), len(cases))
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "cgroup", name))
			if err != nil {
				t.Fatal(err)
			}
			var got want
			got.path, got.cid, got.pod, got.rt = ParseCgroup(string(b))
			if got != w {
				t.Errorf("ParseCgroup:\n got  %+v\n want %+v", got, w)
			}
		})
	}
}

func FuzzParseCgroup(f *testing.F) {
	hex64Re := regexp.MustCompile(`^[0-9a-f]{64}$`)
	podUIDRe := regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$`)
	files, err := filepath.Glob("testdata/cgroup/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("0::/a:b:c/pod" + fixPodU + "/" + fixCID)
	f.Fuzz(func(t *testing.T, content string) {
		path, cid, pod, rt := ParseCgroup(content)
		if cid != "" && !hex64Re.MatchString(cid) {
			t.Errorf("container ID %q is not 64 lowercase hex digits", cid)
		}
		if pod != "" && !podUIDRe.MatchString(pod) {
			t.Errorf("pod UID %q is not a UUID or 32 hex digits", pod)
		}
		if !slices.Contains([]string{"", RuntimeContainerd, RuntimeCRIO, RuntimeDocker, RuntimePodman}, rt) {
			t.Errorf("unknown runtime %q", rt)
		}
		if (cid != "" || pod != "" || rt != "") && !strings.Contains(content, path) {
			t.Errorf("path %q is not in the input", path)
		}
		if cid != "" && !strings.Contains(path, cid) {
			t.Errorf("container ID %q is not in path %q", cid, path)
		}
	})
}
