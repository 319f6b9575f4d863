package stamp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct{ name, token, addr string }{
		{"plain", "tok-123", "box.example.com:443"},
		{"pinned", strings.Repeat("t", MaxToken), "192.0.2.1:8443#sha256=" + strings.Repeat("ab", 32)},
		{"longest", "x", strings.Repeat("a", MaxAddr)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := []byte("\x7fELF pretend binary SWBTOKEN1 inside")
			stamped := Stamp(bin, tt.token, tt.addr)
			if !bytes.HasPrefix(stamped, bin) {
				t.Fatal("Stamp changed the binary")
			}
			var buf bytes.Buffer
			buf.Write(bin)
			if err := Append(&buf, tt.token, tt.addr); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), stamped) {
				t.Fatal("Append and Stamp differ")
			}
			path := filepath.Join(t.TempDir(), "client")
			if err := os.WriteFile(path, stamped, 0o755); err != nil {
				t.Fatal(err)
			}
			token, addr, err := Read(path)
			if err != nil || token != tt.token || addr != tt.addr {
				t.Fatalf("Read = %q, %q, %v", token, addr, err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	got := Stamp(nil, "ab", "h:1")
	want := "abh:1\x00\x02\x00\x03SWBTOKEN1"
	if string(got) != want {
		t.Fatalf("trailer = %q, want %q", got, want)
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotStamped},
		{"unstamped", []byte("just a program"), ErrNotStamped},
		{"magic only", []byte(Magic), ErrNotStamped},
		{"lengths past start", []byte("\x00\x10\x00\x10" + Magic), ErrMalformed},
		{"token too long", append(bytes.Repeat([]byte("t"), 300), "\x01\x2c\x00\x00"+Magic...), ErrMalformed},
		{"empty address", []byte("tok\x00\x03\x00\x00" + Magic), ErrMalformed},
		{"control character", []byte("t\nh:1\x00\x02\x00\x03" + Magic), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client")
			if err := os.WriteFile(path, tt.data, 0o755); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Read(path); !errors.Is(err, tt.want) {
				t.Fatalf("Read = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Trailer("", "h:1"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Trailer with no token = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Stamp([]byte("bin"), "token", "box:443"))
	f.Add(Stamp(nil, "t", "h:1#sha256=00"))
	f.Add([]byte("\xff\xff\xff\xff" + Magic))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		token, addr, err := Parse(data)
		if err != nil {
			return
		}
		if len(token) > MaxToken || len(addr) > MaxAddr || token == "" || addr == "" {
			t.Fatalf("accepted %d-byte token, %d-byte address", len(token), len(addr))
		}
		// What Parse accepts is what Stamp writes.
		if !bytes.HasSuffix(data, Stamp(nil, token, addr)) {
			t.Fatalf("Parse(%q) = %q, %q: not the trailer", data, token, addr)
		}
	})
}
