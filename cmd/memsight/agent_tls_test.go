package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/memsight/memsight/pkg/testutil"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a certificate for a server (127.0.0.1) or a client; it
// returns the certificate and key in PEM.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// protectedAgent is a memsight agent started with --web.config.file and
// --health-listen.
type protectedAgent struct {
	addr, health string
	stderr       *strings.Builder
}

// startProtectedAgent starts the agent with args and returns the addresses
// of its servers once /readyz of the health server answers 200.
func startProtectedAgent(t *testing.T, args ...string) protectedAgent {
	t.Helper()
	cmd := exec.Command(memsightBin, append([]string{"agent", "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); pw.Close(); close(done) }()
	var stderr strings.Builder
	addrs := make(chan [2]string, 1)
	go func() {
		re := regexp.MustCompile(`msg="memsight agent listening" address=(\S+) .*health_address=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- [2]string{m[1], m[2]}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})
	var a protectedAgent
	select {
	case x := <-addrs:
		a = protectedAgent{addr: x[0], health: x[1], stderr: &stderr}
	case <-done:
		t.Fatalf("memsight agent exited: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("memsight agent did not listen within 30s")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + a.health + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz on the health address %s: %v", a.health, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentProtectedEndpoint runs the agent with a Prometheus web
// configuration file (TLS, client certificates required, basic auth with a
// bcrypt hash) and checks that nothing is served to a request missing any
// of them, that an authenticated client gets /metrics and
// /api/v1/processes, that the health address serves only /healthz and
// /readyz, and that memsight top --from https:// reads the agent.
func TestAgentProtectedEndpoint(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	dir := t.TempDir()
	ca, other := newTestCA(t, "memsight test CA"), newTestCA(t, "another CA")
	srvCert, srvKey := ca.issue(t, "memsight agent", true)
	cliCert, cliKey := ca.issue(t, "prometheus", false)
	strangerCert, strangerKey := other.issue(t, "stranger", false)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, dir, "web.yml", fmt.Appendf(nil, `tls_server_config:
  cert_file: %s
  key_file: %s
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: %s
basic_auth_users:
  prometheus: %s
`, writeFile(t, dir, "srv.crt", srvCert), writeFile(t, dir, "srv.key", srvKey), writeFile(t, dir, "ca.crt", ca.pem), hash))

	idle := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "tls-idle")
	tg := testutil.StartTarget(t, idle)
	a := startProtectedAgent(t, "--web.config.file", webConfig, "--include-comm", "^tls-", "--interval", "500ms")
	base := "https://" + a.addr

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := func(certPEM, keyPEM []byte) *http.Client {
		tc := &tls.Config{RootCAs: roots}
		if certPEM != nil {
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}
	get := func(c *http.Client, url, user, pass string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	good := client(cliCert, cliKey)

	// Rejected: plain HTTP, TLS without a client certificate or with one of
	// another CA, and a good certificate without or with wrong credentials.
	for _, c := range []struct {
		name       string
		client     *http.Client
		url        string
		user, pass string
		wantCode   int // 0: the connection fails
	}{
		{"plain HTTP", http.DefaultClient, "http://" + a.addr + "/metrics", "prometheus", "s3cret", http.StatusBadRequest},
		{"no client certificate", client(nil, nil), base + "/metrics", "prometheus", "s3cret", 0},
		{"a certificate of another CA", client(strangerCert, strangerKey), base + "/metrics", "prometheus", "s3cret", 0},
		{"no basic auth", good, base + "/metrics", "", "", http.StatusUnauthorized},
		{"a wrong password", good, base + "/api/v1/processes", "prometheus", "guess", http.StatusUnauthorized},
		{"an unknown user", good, base + "/api/v1/processes", "root", "s3cret", http.StatusUnauthorized},
		{"the page", good, base + "/", "", "", http.StatusUnauthorized},
	} {
		code, body, err := get(c.client, c.url, c.user, c.pass)
		switch {
		case c.wantCode == 0 && err == nil:
			t.Errorf("%s: GET %s answered %d, want the TLS handshake to fail", c.name, c.url, code)
		case c.wantCode != 0 && code != c.wantCode:
			t.Errorf("%s: GET %s: %d (%v), want %d", c.name, c.url, code, err, c.wantCode)
		}
		if strings.Contains(body, "memsight_") || strings.Contains(body, `"pid"`) {
			t.Errorf("%s: GET %s served data:\n%.300s", c.name, c.url, body)
		}
	}

	// Accepted: the client certificate and the password.
	var procs struct {
		Processes []struct {
			PID   int    `json:"pid"`
			State string `json:"state"`
		} `json:"processes"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for watched := false; !watched; {
		code, body, err := get(good, base+"/api/v1/processes", "prometheus", "s3cret")
		if err != nil || code != http.StatusOK || json.Unmarshal([]byte(body), &procs) != nil {
			t.Fatalf("authenticated GET /api/v1/processes: %d %v\n%.300s", code, err, body)
		}
		for _, p := range procs.Processes {
			watched = watched || p.PID == tg.Pid && p.State == "watching"
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not watching in /api/v1/processes: %s", tg.Pid, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body, err := get(good, base+"/metrics", "prometheus", "s3cret")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "memsight_build_info{") ||
		!strings.Contains(body, fmt.Sprintf(`memsight_process_rss_bytes{comm="tls-idle",container="",namespace="",pid="%d"`, tg.Pid)) {
		t.Errorf("authenticated GET /metrics: %d %v\n%.500s", code, err, body)
	}

	// The health address: /healthz and /readyz in plain HTTP, nothing else.
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK, "/metrics": http.StatusNotFound,
		"/api/v1/processes": http.StatusNotFound, "/": http.StatusNotFound} {
		code, body, err := get(http.DefaultClient, "http://"+a.health+path, "", "")
		if err != nil || code != want || strings.Contains(body, "memsight_") {
			t.Errorf("health address GET %s: %d %v, want %d:\n%.200s", path, code, err, want, body)
		}
	}

	// memsight top --from https:// with the CA, the client certificate and the password.
	pw := writeFile(t, dir, "password", []byte("s3cret\n"))
	certs := []string{"--from-ca-file", writeFile(t, dir, "ca2.crt", ca.pem),
		"--from-cert-file", writeFile(t, dir, "cli.crt", cliCert), "--from-key-file", writeFile(t, dir, "cli.key", cliKey)}
	out, err := exec.Command(memsightBin, append([]string{"top", "--from", base, "-o", "json", "--from-user", "prometheus", "--from-password-file", pw}, certs...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf(`"pid":%d,`, tg.Pid)) {
		t.Errorf("memsight top --from %s with a client certificate and basic auth: %v\n%s", base, err, out)
	}
	out, err = exec.Command(memsightBin, append([]string{"top", "--from", base, "-o", "json"}, certs...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401 Unauthorized") {
		t.Errorf("memsight top --from %s without the password: %v, want a 401:\n%s", base, err, out)
	}
}

// TestAgentBadWebConfig: a web configuration file that cannot be used
// stops the agent at start, before loading anything, with one line and
// exit code 2.
func TestAgentBadWebConfig(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ file, want string }{
		"missing":      {filepath.Join(dir, "none.yml"), "none.yml"},
		"unknown key":  {writeFile(t, dir, "key.yml", []byte("tls_server_config:\n  cert: x\n  bogus: 1\n")), "bogus"},
		"missing cert": {writeFile(t, dir, "cert.yml", []byte("tls_server_config:\n  cert_file: /none.crt\n  key_file: /none.key\n")), "none.crt"},
		"bad hash":     {writeFile(t, dir, "hash.yml", []byte("basic_auth_users:\n  u: plaintext\n")), "hash"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(memsightBin, "agent", "--listen", "127.0.0.1:0", "--web.config.file", c.file)
			out, _ := cmd.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if code := cmd.ProcessState.ExitCode(); code != 2 || len(lines) != 1 ||
				!strings.HasPrefix(lines[0], "memsight: --web.config.file "+c.file+": ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 2 and one line memsight: --web.config.file %s: …%s…", code, out, c.file, c.want)
			}
		})
	}
}
