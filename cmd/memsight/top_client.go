package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// fromAuth are top's flags to talk to an agent whose endpoint is protected
// (--web.config.file: TLS, client certificates, basic auth).
type fromAuth struct {
	caFile, certFile, keyFile string
	user, passwordFile        string
}

func addFromAuthFlags(f *pflag.FlagSet, a *fromAuth) {
	f.StringVar(&a.caFile, "from-ca-file", "", "with --from https://: the CA certificates (PEM) that signed the agent's certificate (default: the system's)")
	f.StringVar(&a.certFile, "from-cert-file", "", "with --from https://: a client certificate (PEM), for an agent that asks for one")
	f.StringVar(&a.keyFile, "from-key-file", "", "the key (PEM) of --from-cert-file")
	f.StringVar(&a.user, "from-user", "", "with --from: the basic auth user (or https://USER:PASSWORD@HOST in --from)")
	f.StringVar(&a.passwordFile, "from-password-file", "", "a file holding --from-user's password")
}

// set reports whether any of the flags is given.
func (a fromAuth) set() bool {
	return a.caFile != "" || a.certFile != "" || a.keyFile != "" || a.user != "" || a.passwordFile != ""
}

// client returns the HTTP client for u, with the CA, client certificate and
// basic auth the flags give. Basic auth goes into u (net/http sends it from
// there), so it is sent with every request to the agent only.
func (a fromAuth) client(u *url.URL, timeout time.Duration) (*http.Client, error) {
	if (a.certFile == "") != (a.keyFile == "") {
		return nil, usagef("--from-cert-file and --from-key-file: give both or neither")
	}
	if (a.user == "") != (a.passwordFile == "") {
		return nil, usagef("--from-user and --from-password-file: give both or neither")
	}
	if u.Scheme != "https" && (a.caFile != "" || a.certFile != "") {
		return nil, usagef("--from-ca-file and --from-cert-file need --from https://…")
	}
	c := &http.Client{Timeout: timeout}
	if a.user != "" {
		b, err := os.ReadFile(a.passwordFile)
		if err != nil {
			return nil, usagef("--from-password-file: %v", err)
		}
		u.User = url.UserPassword(a.user, strings.TrimRight(string(b), "\r\n"))
	}
	if u.Scheme != "https" {
		return c, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.caFile != "" {
		pem, err := os.ReadFile(a.caFile)
		if err != nil {
			return nil, usagef("--from-ca-file: %v", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("--from-ca-file %s: no PEM certificate in it", a.caFile)
		}
	}
	if a.certFile != "" {
		cert, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
		if err != nil {
			return nil, usagef("--from-cert-file, --from-key-file: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	c.Transport = tr
	return c, nil
}
