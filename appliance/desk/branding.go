package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/text"
)

// Branding is how a public site looks to its customers: the name in the
// header, a logo and an accent colour, on every customer-facing page.
type Branding struct {
	// DisplayName replaces the site's name on its pages.
	DisplayName string `json:"display_name,omitempty"`
	// Accent is a colour "#rrggbb".
	Accent string `json:"accent,omitempty"`
	// Logo counts the logo's versions (0: none), so its URL changes with it.
	Logo int `json:"logo,omitempty"`
}

// Bounds of a logo upload: the file, the picture's size before it is
// decoded, and the size it is re-encoded at.
const (
	MaxLogoBytes  = 512 << 10
	MaxLogoPixels = 16 << 20
	LogoMaxWidth  = 480
	LogoMaxHeight = 160
)

var accentRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (b *Branding) normalize(fe *FieldErrors) {
	b.DisplayName = strings.TrimSpace(b.DisplayName)
	b.Accent = strings.ToLower(strings.TrimSpace(b.Accent))
	switch {
	case utf8.RuneCountInString(b.DisplayName) > 64:
		fe.add("display_name", "Keep the display name under 64 characters.")
	case text.HasBidiControl(b.DisplayName):
		fe.add("display_name", text.BidiMessage)
	}
	if b.Accent != "" && !accentRe.MatchString(b.Accent) {
		fe.add("accent", "Give the colour as # and six hexadecimal digits, such as #1f6feb.")
	}
}

// Title is the name the site's pages show.
func (st Site) Title() string {
	if st.Branding.DisplayName != "" {
		return st.Branding.DisplayName
	}
	return st.Name
}

// ErrLogo reports a logo the box will not take; the error says why.
var ErrLogo = errors.New("unusable logo")

// CheckLogo validates an uploaded logo and re-encodes it as a PNG of at
// most LogoMaxWidth×LogoMaxHeight: only PNG, JPEG and WebP are taken (no
// SVG: it is a document that can carry script); the picture's size is read
// from its header and bounded before anything is decoded; whatever the
// file held besides the picture is gone after re-encoding.
func CheckLogo(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrLogo)
	}
	if len(raw) > MaxLogoBytes {
		return nil, fmt.Errorf("%w: use a file of at most %d KiB", ErrLogo, MaxLogoBytes>>10)
	}
	var decodeConfig func([]byte) (image.Config, error)
	var decode func([]byte) (image.Image, error)
	switch http.DetectContentType(raw) {
	case "image/png":
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case "image/jpeg":
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case "image/webp":
		decodeConfig = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return webp.Decode(bytes.NewReader(b)) }
	default:
		return nil, fmt.Errorf("%w: use a PNG, JPEG or WebP picture (SVG and other formats are refused)", ErrLogo)
	}
	cfg, err := decodeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the picture cannot be read", ErrLogo)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxLogoPixels || cfg.Width > 8192 || cfg.Height > 8192 {
		return nil, fmt.Errorf("%w: the picture is %d×%d pixels; use one of at most 16 megapixels", ErrLogo, cfg.Width, cfg.Height)
	}
	img, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the picture cannot be read", ErrLogo)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > LogoMaxWidth || h > LogoMaxHeight {
		scale := min(float64(LogoMaxWidth)/float64(w), float64(LogoMaxHeight)/float64(h))
		w, h = max(int(float64(w)*scale), 1), max(int(float64(h)*scale), 1)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// SetSiteLogo stores (raw non-empty, checked with CheckLogo) or removes
// (raw nil) the logo of site id; audited.
func (s *Service) SetSiteLogo(ctx context.Context, a Actor, id uint64, raw []byte) (Site, error) {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return Site{}, err
	}
	var logo []byte
	if raw != nil {
		var err error
		if logo, err = CheckLogo(raw); err != nil {
			return Site{}, &FieldError{"logo", strings.TrimPrefix(err.Error(), ErrLogo.Error()+": ")}
		}
	}
	var st Site
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bSites, id, &st); err != nil {
			return err
		}
		before := st.Branding.Logo
		if logo == nil {
			st.Branding.Logo = 0
			if err := root(tx, bSiteLogos).Delete(idKey(id)); err != nil {
				return err
			}
		} else {
			st.Branding.Logo++
			if err := root(tx, bSiteLogos).Put(idKey(id), logo); err != nil {
				return err
			}
		}
		if err := put(tx, bSites, id, st); err != nil {
			return err
		}
		return s.audit(tx, a, "update", "site", id, st.Name, map[string]int{"logo": before}, map[string]int{"logo": st.Branding.Logo})
	})
	return st, err
}

// SiteLogo returns the PNG logo of site id, or ErrNotFound.
func (s *Service) SiteLogo(ctx context.Context, id uint64) ([]byte, error) {
	var out []byte
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := root(tx, bSiteLogos).Get(idKey(id))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}
