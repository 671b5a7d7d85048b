package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and strictly decodes the configuration file at path: an
// unknown key, a value of the wrong type or a second document is an error
// naming the line and the key. It does not validate values; Resolve does.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return f, nil
}

// Parse strictly decodes a configuration document (see Load). An empty
// document is an empty File.
func Parse(b []byte) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return &File{}, nil
	} else if err != nil {
		return nil, err // a syntax error: "yaml: line 3: ..."
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: keep a single document (remove the '---' separator)")
	}
	var msgs []string
	unknownKeys(&doc, reflect.TypeFor[File](), "", &msgs)
	var f File
	if err := doc.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, err
		}
		msgs = append(msgs, te.Errors...) // "line 3: cannot unmarshal !!str `soon` into time.Duration"
	}
	if len(msgs) > 0 {
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return &f, nil
}

// unknownKeys lists the keys of the mapping n that have no field in the
// struct t, with their line, their section (path) and the keys allowed
// there, and goes down into the keys that do. Values of the wrong kind are
// left to the decoder, which says so.
func unknownKeys(n *yaml.Node, t reflect.Type, path string, msgs *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
		unknownKeys(n.Content[0], t, path, msgs)
		return
	case n.Kind == yaml.AliasNode && n.Alias != nil:
		unknownKeys(n.Alias, t, path, msgs)
		return
	case n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct:
		return
	}
	fields := map[string]reflect.Type{}
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		fields[name] = t.Field(i).Type
		keys = append(keys, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			where := ""
			if path != "" {
				where = " in " + path
			}
			*msgs = append(*msgs, fmt.Sprintf("line %d: unknown key %q%s (allowed: %s)", k.Line, k.Value, where, strings.Join(keys, ", ")))
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		unknownKeys(v, ft, sub, msgs)
	}
}
