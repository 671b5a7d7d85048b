package deploy_test

import (
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeBuild builds the base as `kubectl apply -k` does (kustomize's
// library, no binary) and checks what it renders.
func TestKustomizeBuild(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	o := decodeStream(t, "kustomize build", out)
	if len(o.namespaces) != 1 {
		t.Errorf("want the Namespace")
	}
	o.check(t, "memsight", true)
	if img, want := o.daemonSets[0].Spec.Template.Spec.Containers[0].Image, imageRepo+":v"+releaseVersion(t); img != want {
		t.Errorf("image %q, want %q", img, want)
	}
}
