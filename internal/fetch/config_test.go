package fetch

import (
	"errors"
	"math"
	"testing"
)

func TestRegion(t *testing.T) {
	for _, tc := range []struct{ in, api, login string }{
		{"us-east-1", "https://api.mypurecloud.com", "https://login.mypurecloud.com"},
		{"", "https://api.mypurecloud.com", "https://login.mypurecloud.com"},
		{"EU_WEST_1", "https://api.mypurecloud.ie", "https://login.mypurecloud.ie"},
		{"ap-southeast-2", "https://api.mypurecloud.com.au", "https://login.mypurecloud.com.au"},
		{"us-east-2", "https://api.use2.us-gov-pure.cloud", "https://login.use2.us-gov-pure.cloud"},
		{"mypurecloud.de", "https://api.mypurecloud.de", "https://login.mypurecloud.de"},
		{"api.usw2.pure.cloud", "https://api.usw2.pure.cloud", "https://login.usw2.pure.cloud"},
		{"new1.pure.cloud", "https://api.new1.pure.cloud", "https://login.new1.pure.cloud"},
	} {
		api, login, err := Region(tc.in)
		if err != nil || api != tc.api || login != tc.login {
			t.Errorf("Region(%q) = %q, %q, %v; want %q, %q", tc.in, api, login, err, tc.api, tc.login)
		}
	}
	for _, bad := range []string{"mars-1", "https://api.mypurecloud.com", "a..b", "evil.com/path", "-x.com", "x_y.com"} {
		if _, _, err := Region(bad); !errors.Is(err, ErrUnknownRegion) {
			t.Errorf("Region(%q) err = %v, want ErrUnknownRegion", bad, err)
		}
	}
	for name := range regionDomains {
		if _, _, err := Region(name); err != nil {
			t.Errorf("Region(%q): %v", name, err)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		EnvClientID: "env-id", EnvClientSecret: "env-secret", EnvRegion: " eu-west-1 ", EnvAccessToken: "env-token",
	}
	cfg := Config{ClientID: "flag-id"}
	cfg.ApplyEnv(func(k string) string { return env[k] })
	if cfg.ClientID != "flag-id" || cfg.ClientSecret != "env-secret" || cfg.Region != "eu-west-1" || cfg.AccessToken != "env-token" {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestNewConfig(t *testing.T) {
	ok := Config{ClientID: "i", ClientSecret: "s"}
	c, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if c.api != "https://api.mypurecloud.com" || c.login != "https://login.mypurecloud.com" {
		t.Errorf("urls %s %s", c.api, c.login)
	}
	if got := c.Stats().PacePerMinute; got != DefaultRate {
		t.Errorf("default pace %v, want %d", got, DefaultRate)
	}

	c, err = New(Config{AccessToken: "t", APIURL: "http://127.0.0.1:9/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.api != "http://127.0.0.1:9" || c.login != "http://127.0.0.1:9" {
		t.Errorf("override urls %s %s", c.api, c.login)
	}
	c, err = New(Config{AccessToken: "t", APIURL: "https://api.mypurecloud.ie/"})
	if err != nil || c.api != "https://api.mypurecloud.ie" || c.login != "https://login.mypurecloud.ie" {
		t.Errorf("login host from an api host: %v %s %s", err, c.api, c.login)
	}
	c, err = New(Config{AccessToken: "t", Region: "eu-west-1", LoginURL: "http://127.0.0.1:9"})
	if err != nil || c.api != "https://api.mypurecloud.ie" || c.login != "http://127.0.0.1:9" {
		t.Errorf("login override: %v %s %s", err, c.api, c.login)
	}
	c, err = New(Config{AccessToken: "t", Rate: math.Inf(1)})
	if err != nil || c.Stats().PacePerMinute != 0 {
		t.Errorf("unlimited rate: %v", err)
	}

	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"nothing", Config{}, ErrNoCredentials},
		{"id only", Config{ClientID: "i"}, ErrNoCredentials},
		{"secret only", Config{ClientSecret: "s", AccessToken: "t"}, ErrNoCredentials},
		{"bad token", Config{AccessToken: "a b"}, ErrInvalidArgument},
		{"bad region", Config{AccessToken: "t", Region: "nowhere"}, ErrUnknownRegion},
		{"bad api url", Config{AccessToken: "t", APIURL: "ftp://x"}, ErrInvalidArgument},
		{"api url with query", Config{AccessToken: "t", APIURL: "http://x/?a=b"}, ErrInvalidArgument},
		{"negative rate", Config{AccessToken: "t", Rate: -5}, ErrInvalidArgument},
		{"NaN rate", Config{AccessToken: "t", Rate: math.NaN()}, ErrInvalidArgument},
	} {
		if _, err := New(tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}
