package desk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func testPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, h/2, color.RGBA{200, 20, 20, 255})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// pngHeader is a PNG whose header claims w×h pixels and holds no data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestCheckLogo(t *testing.T) {
	out, err := CheckLogo(testPNG(1200, 300))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil || cfg.Width > LogoMaxWidth || cfg.Height > LogoMaxHeight || cfg.Width != 480 {
		t.Fatalf("re-encoded %dx%d %v", cfg.Width, cfg.Height, err)
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewRGBA(image.Rect(0, 0, 40, 20)), nil)
	if _, err := CheckLogo(jb.Bytes()); err != nil {
		t.Fatalf("jpeg: %v", err)
	}
	// A picture with HTML after it comes back as the picture alone.
	poly := append(testPNG(10, 10), []byte("<html><script>alert(1)</script></html>")...)
	if out, err := CheckLogo(poly); err != nil || bytes.Contains(out, []byte("script")) {
		t.Fatalf("polyglot: %v", err)
	}
	for name, raw := range map[string][]byte{
		"svg":           []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`),
		"html":          []byte("<!doctype html><script>alert(1)</script>"),
		"gif":           []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
		"empty":         nil,
		"bomb":          pngHeader(100000, 100000),
		"truncated png": testPNG(50, 50)[:60],
		"too large":     append(testPNG(4, 4), make([]byte, MaxLogoBytes)...),
	} {
		if _, err := CheckLogo(raw); !errors.Is(err, ErrLogo) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzCheckLogo(f *testing.F) {
	f.Add(testPNG(8, 8))
	f.Add(pngHeader(100000, 100000))
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewRGBA(image.Rect(0, 0, 4, 4)), nil)
	f.Add(jb.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := CheckLogo(raw)
		if err == nil {
			cfg, err := png.DecodeConfig(bytes.NewReader(out))
			if err != nil || cfg.Width > LogoMaxWidth || cfg.Height > LogoMaxHeight {
				t.Fatalf("accepted, but the output is not a bounded PNG: %v", err)
			}
		}
	})
}

func TestBrandingChecked(t *testing.T) {
	f := newFixture(t)
	st := f.site
	st.Branding = Branding{DisplayName: "Acme <b>Help</b>", Accent: "red"}
	if _, err := f.d.SaveSite(ctx, admin, st); err == nil {
		t.Fatal("a colour that is not #rrggbb was taken")
	}
	st.Branding.Accent = "#1F6FEB"
	saved, err := f.d.SaveSite(ctx, admin, st)
	if err != nil || saved.Branding.Accent != "#1f6feb" || saved.Title() != "Acme <b>Help</b>" {
		t.Fatalf("%+v %v", saved.Branding, err)
	}
	if saved, err = f.d.SetSiteLogo(ctx, admin, st.ID, testPNG(20, 10)); err != nil || saved.Branding.Logo != 1 {
		t.Fatalf("logo: %+v %v", saved.Branding, err)
	}
	// Saving the site's form again keeps the logo.
	if saved, _ = f.d.SaveSite(ctx, admin, st); saved.Branding.Logo != 1 {
		t.Fatal("saving the site dropped the logo")
	}
	if _, err := f.d.SetSiteLogo(ctx, f.ann, st.ID, testPNG(20, 10)); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a technician set the logo: %v", err)
	}
	if _, err := f.d.SetSiteLogo(ctx, admin, st.ID, []byte("<svg/>")); err == nil {
		t.Fatal("svg logo taken")
	}
}
