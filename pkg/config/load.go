package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
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
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: keep a single document (remove the '---' separator)")
	}
	return &f, nil
}

// unknownField matches yaml.v3's strict-decoding message.
var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)

// yamlError rewrites yaml.v3's errors into one line, naming unknown keys
// with their section and the keys allowed there.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		if s := unknownField.FindStringSubmatch(m); s != nil {
			sec, keys := section(s[3])
			m = fmt.Sprintf("line %s: unknown key %q%s (allowed: %s)", s[1], s[2], sec, strings.Join(keys, ", "))
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// section returns where a config type sits (" in thresholds") and its keys.
func section(typ string) (string, []string) {
	var v any
	where := ""
	switch typ {
	case "File":
		v = File{}
	case "Excludes":
		v, where = Excludes{}, " in excludes"
	case "Thresholds":
		v, where = Thresholds{}, " in thresholds"
	case "WebhookFile":
		v, where = WebhookFile{}, " in webhook"
	case "KubeFile":
		v, where = KubeFile{}, " in kubernetes"
	case "ProfilesFile":
		v, where = ProfilesFile{}, " in profiles"
	case "PyroscopeFile":
		v, where = PyroscopeFile{}, " in profiles.pyroscope"
	default:
		return "", nil
	}
	t := reflect.TypeOf(v)
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("yaml"))
	}
	return where, keys
}
