package main

import (
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "sbom: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sbom", flag.ContinueOnError)
	out := fs.String("o", "", "write the SBOM (CycloneDX 1.6 JSON) to this file")
	version := fs.String("version", "", "the version the binary is stamped with (v0.1.0)")
	bpfPath := fs.String("bpf", "", "the BPF object embedded in the binary (pkg/probe/memsight_x86_bpfel.o)")
	created := fs.Int64("time", 0, "the SBOM's timestamp, in Unix seconds (the commit's time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" || *version == "" || *bpfPath == "" {
		return errors.New("usage: sbom -o FILE -version V -bpf OBJECT [-time UNIX] BINARY")
	}
	binPath := fs.Arg(0)
	bi, err := buildinfo.ReadFile(binPath)
	if err != nil {
		return fmt.Errorf("reading the build info of %s: %w", binPath, err)
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	obj, err := os.ReadFile(*bpfPath)
	if err != nil {
		return err
	}
	bom := newBOM(bi, *version,
		artifact{filepath.Base(binPath), sha256Hex(bin)},
		artifact{filepath.Base(*bpfPath), sha256Hex(obj)},
		time.Unix(*created, 0))
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := cdx.NewBOMEncoder(f, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	return f.Close()
}
