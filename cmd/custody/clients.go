package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/shellarg"
)

// envClientSecretPrefix names the environment variable holding the secret
// of a --client id: the prefix, then the id upper-cased with every
// character other than A-Z and 0-9 made "_".
const envClientSecretPrefix = fetch.EnvClientSecret + "_"

// maxCredentialsFile bounds a credentials file: a few hundred clients.
const maxCredentialsFile = 64 << 10

// clientSecretEnv returns the environment variable of id's secret.
func clientSecretEnv(id string) string {
	var b strings.Builder
	b.WriteString(envClientSecretPrefix)
	for _, r := range strings.ToUpper(id) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// readCredentialsFile reads "client_id:client_secret" lines ('#' starts a
// comment line, blank lines are skipped). The file holds secrets: it must
// be a regular file that neither group nor others may read or write, as ssh
// requires of a private key (the error names chmod). What is wrong with
// the file — it cannot be read, is no regular file, is too large, too
// open, or holds no credentials — is exit 1 (bad input), as an unreadable
// file is on every command; only the flags' misuse is a usage error.
func readCredentialsFile(path string) ([]fetch.Credentials, error) {
	f, st, err := fsinfo.OpenRegularFile(path) // non-blocking: a FIFO is refused, not waited on
	if errors.As(err, new(*fsinfo.NotRegularError)) {
		return nil, fmt.Errorf("--credentials %q: not a regular file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--credentials %q: %w", path, err)
	}
	defer f.Close()
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--credentials %q: mode %04o lets others read the client secrets: chmod 600 %s", path, st.Mode().Perm(), shellarg.Quote(path))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialsFile+1))
	if err != nil {
		return nil, fmt.Errorf("--credentials %q: %w", path, err)
	}
	if len(b) > maxCredentialsFile {
		return nil, fmt.Errorf("--credentials %q: larger than %d bytes", path, maxCredentialsFile)
	}
	var out []fetch.Credentials
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, secret, ok := strings.Cut(line, ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		if !ok || id == "" || secret == "" || strings.ContainsAny(id, " \t") || strings.ContainsAny(secret, " \t") {
			// Never quote the line: it may hold a secret.
			return nil, fmt.Errorf("--credentials %q: line %d: want client_id:client_secret", path, n)
		}
		out = append(out, fetch.Credentials{ID: id, Secret: secret})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--credentials %q: no client_id:client_secret line", path)
	}
	return out, nil
}

// clientsConfig fills cfg's first client and cfg.Clients from --client,
// --credentials and the environment: the first client is --client-id or
// GENESYSCLOUD_OAUTHCLIENT_ID with GENESYSCLOUD_OAUTHCLIENT_SECRET when
// set, else the first of the others. Each --client id takes its secret
// from the credentials file, else from its environment variable
// (clientSecretEnv). Without --client, every client in the file is used.
// Secrets never come from the command line.
func (o *apiOptions) clientsConfig(cfg *fetch.Config, getenv func(string) string) error {
	var file []fetch.Credentials
	if o.Credentials == "" && o.fs != nil && o.fs.Changed("credentials") {
		// An unset shell variable: not "no file", which would share the
		// work between fewer clients than meant, or none.
		return usageError("--credentials needs a file, not an empty value")
	}
	if o.Credentials != "" {
		var err error
		if file, err = readCredentialsFile(o.Credentials); err != nil {
			return err
		}
	}
	secretOf := func(id string) (string, error) {
		for _, c := range file {
			if c.ID == id {
				return c.Secret, nil
			}
		}
		if s := strings.TrimSpace(getenv(clientSecretEnv(id))); s != "" {
			return s, nil
		}
		where := "set " + clientSecretEnv(id)
		if o.Credentials != "" {
			where = "add it to " + o.Credentials + " or " + where
		}
		return "", usageError("--client %s: no secret: %s", id, where)
	}
	var more []fetch.Credentials
	if len(o.Clients) > 0 {
		for _, id := range o.Clients {
			id = strings.TrimSpace(id)
			if id == "" {
				return usageError("--client: empty client id")
			}
			secret, err := secretOf(id)
			if err != nil {
				return err
			}
			more = append(more, fetch.Credentials{ID: id, Secret: secret})
		}
	} else {
		more = file
	}
	if cfg.ClientID == "" && cfg.ClientSecret == "" && len(more) > 0 {
		cfg.ClientID, cfg.ClientSecret = more[0].ID, more[0].Secret
		more = more[1:]
	}
	seen := map[string]bool{cfg.ClientID: true}
	for _, c := range more {
		if seen[c.ID] {
			return usageError("client %s is given twice: each OAuth client has one budget", c.ID)
		}
		seen[c.ID] = true
		cfg.Clients = append(cfg.Clients, c)
	}
	if len(cfg.Clients) > 0 && cfg.ClientSecret == "" {
		return usageError("several clients: the first (%s) has no secret: set %s", cfg.ClientID, fetch.EnvClientSecret)
	}
	return nil
}
