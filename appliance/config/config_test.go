package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
	}{
		{"minimal", `{"version":1}`, ""},
		{"full", `{"version":1,"state_dir":"/tmp/x","https_addr":":9443","trusted_proxies":["10.0.0.1","192.168.0.0/16"],"idle_timeout":"5m"}`, ""},
		{"unknown field", `{"version":1,"stat_dir":"/x"}`, `unknown field "stat_dir"`},
		{"no version", `{"state_dir":"/x"}`, `field "version": missing`},
		{"future version", `{"version":2}`, `field "version": 2 is not supported`},
		{"wrong type", `{"version":1,"dev":"yes"}`, `field "dev"`},
		{"bad duration", `{"version":1,"idle_timeout":"soon"}`, `"soon"`},
		{"bad proxy", `{"version":1,"trusted_proxies":["nope"]}`, `field "trusted_proxies"`},
		{"bad addr", `{"version":1,"https_addr":"8443"}`, `field "https_addr"`},
		{"bad level", `{"version":1,"log_level":"loud"}`, `field "log_level"`},
		{"not json", `version: 1`, `not valid JSON`},
		{"trailing", `{"version":1} {"version":1}`, `not valid JSON`},
		{"idle above absolute", `{"version":1,"idle_timeout":"13h"}`, `idle_timeout`},
		{"slow shutdown", `{"version":1,"shutdown_timeout":"10s"}`, `shutdown_timeout`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(c.in), Box())
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Version != 1 {
					t.Fatal("version lost")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want it to mention %s", err, c.wantErr)
			}
		})
	}
}

func TestOverlayKeepsBase(t *testing.T) {
	cfg, err := Parse(strings.NewReader(`{"version":1,"https_addr":"127.0.0.1:9999"}`), Dev())
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Dev || cfg.StateDir != "var" || cfg.HTTPSAddr != "127.0.0.1:9999" || time.Duration(cfg.IdleTimeout) != 30*time.Minute {
		t.Fatalf("overlay lost defaults: %+v", cfg)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"version":1}`, `{"version":1,"trusted_proxies":["::1"]}`, `{"version":1,"idle_timeout":"1h"}`, `[]`, `{"version":1e999}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := Parse(strings.NewReader(in), Box())
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted an invalid config: %v", verr)
			}
		}
	})
}
