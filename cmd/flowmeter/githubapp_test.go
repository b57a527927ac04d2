package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// TestConfigCheckOfGitHubApp checks a GitHub source authenticating as a GitHub App:
// `config check` reads and parses the App's private key, and a key that does not
// parse is refused at its field without a word of the key reaching the output.
func TestConfigCheckOfGitHubApp(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	// The same key cut short, as a paste that lost its end.
	lines := strings.Split(good, "\n")
	cut := strings.Join(append(lines[:6:6], "-----END RSA PRIVATE KEY-----", ""), "\n")
	writeFile(t, dir, "good.pem", good)
	writeFile(t, dir, "cut.pem", cut)
	config := func(keyFile string) string {
		return writeFile(t, dir, "f.yaml", `store:
  sqlite:
    path: f.db
sources:
  - name: acme
    github:
      app:
        id: 42
        installation_id: 7001
        private_key_file: `+keyFile+`
      organizations: [acme]
`)
	}
	if out, stderr, err := runCaptured(t, "config", "check", "--config", config("good.pem")); err != nil || out != "" {
		t.Fatalf("config check with the App's key: %v, said %q %q", err, out, stderr)
	}
	out, stderr, err := runCaptured(t, "config", "check", "--config", config("cut.pem"))
	want := "f.yaml:10: sources[0].github.app.private_key_file: the PEM block (RSA PRIVATE KEY) is not an RSA private key in PKCS#1 or PKCS#8 form"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("config check with a key cut short: %v\nwant an error ending %s", err, want)
	}
	for _, line := range lines[1:6] {
		if strings.Contains(err.Error()+out+stderr, line) {
			t.Fatalf("the key reached the output: %v %q %q", err, out, stderr)
		}
	}
}
