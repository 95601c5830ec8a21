package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/fetch"
)

func writeCreds(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func isUsage(err error) bool {
	var e *exitErr
	return errors.As(err, &e) && e.code == exitUsage
}

func TestClientSecretEnv(t *testing.T) {
	if got := clientSecretEnv("1b2c-3D.x"); got != "GENESYSCLOUD_OAUTHCLIENT_SECRET_1B2C_3D_X" {
		t.Errorf("got %s", got)
	}
}

func TestClientsConfig(t *testing.T) {
	env := map[string]string{clientSecretEnv("b"): "sb"}
	getenv := func(k string) string { return env[k] }

	// --client ids take their secrets from the environment.
	o := &apiOptions{Clients: []string{"b"}}
	cfg := fetch.Config{ClientID: "a", ClientSecret: "sa"}
	if err := o.clientsConfig(&cfg, getenv); err != nil || len(cfg.Clients) != 1 || cfg.Clients[0] != (fetch.Credentials{ID: "b", Secret: "sb"}) {
		t.Fatalf("env: %+v %v", cfg.Clients, err)
	}
	// ... or from the file, which wins.
	p := writeCreds(t, "# clients\n\nb:fromfile\n c : sc \n", 0o600)
	o = &apiOptions{Clients: []string{"b", "c"}, Credentials: p}
	cfg = fetch.Config{ClientID: "a", ClientSecret: "sa"}
	if err := o.clientsConfig(&cfg, getenv); err != nil || len(cfg.Clients) != 2 || cfg.Clients[0].Secret != "fromfile" || cfg.Clients[1] != (fetch.Credentials{ID: "c", Secret: "sc"}) {
		t.Fatalf("file: %+v %v", cfg.Clients, err)
	}
	// Without --client every client in the file is used; without a first
	// client from the environment, the file's first is it.
	o = &apiOptions{Credentials: p}
	cfg = fetch.Config{}
	if err := o.clientsConfig(&cfg, getenv); err != nil || cfg.ClientID != "b" || cfg.ClientSecret != "fromfile" || len(cfg.Clients) != 1 || cfg.Clients[0].ID != "c" {
		t.Fatalf("file only: %+v %v", cfg, err)
	}

	// The flags' misuse is a usage error (2); what is wrong with the file
	// --credentials names is bad input (1), as on every command.
	emptyValue := &apiOptions{fs: pflag.NewFlagSet("export", pflag.ContinueOnError)}
	emptyValue.AddFlags(emptyValue.fs)
	if err := emptyValue.fs.Parse([]string{"--credentials", ""}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		o     *apiOptions
		want  string
		usage bool
	}{
		"no secret":   {&apiOptions{Clients: []string{"z"}}, "GENESYSCLOUD_OAUTHCLIENT_SECRET_Z", true},
		"twice":       {&apiOptions{Clients: []string{"b", "b"}}, "given twice", true},
		"first too":   {&apiOptions{Clients: []string{"a"}}, "no secret", true},
		"empty id":    {&apiOptions{Clients: []string{" "}}, "empty client id", true},
		"empty value": {emptyValue, "--credentials needs a file, not an empty value", true},
		"bad line":    {&apiOptions{Credentials: writeCreds(t, "b:sb\nnocolon-secretvalue\n", 0o600)}, "line 2: want client_id:client_secret", false},
		"empty file":  {&apiOptions{Credentials: writeCreds(t, "# nothing\n", 0o600)}, "no client_id:client_secret line", false},
		"missing":     {&apiOptions{Credentials: filepath.Join(t.TempDir(), "nope")}, "--credentials", false},
		"a folder":    {&apiOptions{Credentials: t.TempDir()}, "not a regular file", false},
	} {
		cfg := fetch.Config{ClientID: "a", ClientSecret: "sa"}
		if name == "first too" {
			cfg = fetch.Config{ClientID: "x"}
			env[clientSecretEnv("a")] = "s"
		}
		err := c.o.clientsConfig(&cfg, getenv)
		if err == nil || isUsage(err) != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q, a usage error: %v", name, err, c.want, c.usage)
		}
		if err != nil && strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("%s: the error quotes a secret: %v", name, err)
		}
	}
}

func TestCredentialsFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		p := writeCreds(t, "b:sb\n", mode)
		_, err := readCredentialsFile(p)
		if err == nil || isUsage(err) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	if _, err := readCredentialsFile(writeCreds(t, "b:sb\n", 0o400)); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := readCredentialsFile(t.TempDir()); err == nil {
		t.Error("a directory accepted")
	}
	big := writeCreds(t, strings.Repeat("x", maxCredentialsFile+1), 0o600)
	if _, err := readCredentialsFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}
