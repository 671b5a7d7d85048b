package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Formats of the POSTed body.
const (
	FormatJSON         = "json"         // one Event
	FormatAlertmanager = "alertmanager" // an Alertmanager /api/v2/alerts array of one alert
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// with the configured secret.
const SignatureHeader = "X-Memsight-Signature"

// Alert is an alert of Alertmanager's POST /api/v2/alerts.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func body(ev Event, format string) ([]byte, error) {
	if format != FormatAlertmanager {
		return json.Marshal(ev)
	}
	labels := map[string]string{
		"alertname": alertName(ev.Kind), "kind": ev.Kind, "severity": ev.Severity,
		"pid": strconv.Itoa(ev.PID), "comm": ev.Comm,
	}
	// container and pod as in memsight's metrics: names when known, else IDs.
	for k, v := range map[string]string{"node": ev.Node, "container": or(ev.Container, ev.ContainerID), "pod": or(ev.Pod, ev.PodUID), "namespace": ev.Namespace} {
		if v != "" {
			labels[k] = v
		}
	}
	a := Alert{Labels: labels, Annotations: map[string]string{"summary": ev.Summary}, StartsAt: ev.Since, EndsAt: ev.ResolvedAt}
	if ev.EvidenceURL != "" {
		a.Annotations["evidence_url"] = ev.EvidenceURL
	}
	return json.Marshal([]Alert{a})
}

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// or returns name, or id when the name is not known.
func or(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
