// Command sbom writes the CycloneDX SBOM of a memsight release binary (make
// release): the Go modules and toolchain its build info lists, the BPF
// object embedded in it, and its own SHA-256, so that scanners and
// registries that want an SBOM file next to a binary get one. It reads the
// build info the go command records in every binary (what `go version -m`
// prints); it does not scan sources or guess licenses of dependencies.
package main
