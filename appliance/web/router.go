package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Route describes one registered route, for tests that walk every route.
type Route struct {
	Method, Pattern string
	// NoCSRF marks a state-changing route that is protected another way
	// (the OAuth2 token endpoint, machine APIs and SAML assertion consumer
	// services only).
	NoCSRF bool
}

// Config holds what the plumbing needs from the composition root.
type Config struct {
	// CSRFKey signs CSRF tokens; it is a per-box secret.
	CSRFKey []byte
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// AltSvc, when set, is sent as the Alt-Svc header (HTTP/3 advertisement).
	AltSvc string
	// MaxBody bounds request bodies unless a route asks for more.
	MaxBody int64
	// Brand is the product name shown in the layout.
	Brand string
}

// Router collects the routes of every surface and serves them through one
// chain of checks.
type Router struct {
	cfg    Config
	mux    *http.ServeMux
	routes []Route
	log    *slog.Logger
	pages  *Pages
	guards []func(http.ResponseWriter, *http.Request) bool
	// limits are the body limits of routes that asked for more than
	// Config.MaxBody, by pattern.
	limits map[string]int64
	// looks give error pages their surface's look (ErrorLook).
	looks []func(*http.Request) (View, bool)
}

// NewRouter returns an empty router.
func NewRouter(cfg Config, log *slog.Logger) *Router {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.Brand == "" {
		cfg.Brand = "Switchboard"
	}
	rt := &Router{cfg: cfg, mux: http.NewServeMux(), log: log}
	rt.pages = newPages(rt)
	rt.mux.Handle("GET /assets/", http.HandlerFunc(serveAsset))
	rt.Handle("/", func(w http.ResponseWriter, r *http.Request) error { return ErrNotFound })
	return rt
}

// Pages returns the template set of this router, for front ends to add
// their own pages to.
func (rt *Router) Pages() *Pages { return rt.pages }

// Handle registers h for a Go 1.22 pattern such as "POST /login/users/{id}".
// Every state-changing method requires a valid CSRF token.
func (rt *Router) Handle(pattern string, h Handler) {
	rt.handle(pattern, h, false)
}

// HandleNoCSRF registers a state-changing route that authenticates requests
// by other means than a browser session (e.g. bearer tokens). Browser forms
// must never use it.
func (rt *Router) HandleNoCSRF(pattern string, h Handler) {
	rt.handle(pattern, h, true)
}

// HandleUpload is Handle for a route that accepts bodies of up to limit
// bytes (file uploads) instead of Config.MaxBody.
func (rt *Router) HandleUpload(pattern string, limit int64, h Handler) {
	if rt.limits == nil {
		rt.limits = map[string]int64{}
	}
	rt.limits[pattern] = limit
	rt.handle(pattern, h, false)
}

// HandleACS registers a SAML assertion consumer service: the identity
// provider's page posts the answer from another site, so no CSRF token can
// come with it. The answer authenticates itself (its signature, and the
// one-use request it must answer, bound to the browser that started it);
// its body may be up to limit bytes.
func (rt *Router) HandleACS(pattern string, limit int64, h Handler) {
	if rt.limits == nil {
		rt.limits = map[string]int64{}
	}
	rt.limits[pattern] = limit
	rt.handle(pattern, h, true)
}

// bodyLimit is the body limit of the route r goes to.
func (rt *Router) bodyLimit(r *http.Request) int64 {
	if len(rt.limits) > 0 {
		if _, pattern := rt.mux.Handler(r); pattern != "" {
			if limit, ok := rt.limits[pattern]; ok {
				return limit
			}
		}
	}
	return rt.cfg.MaxBody
}

func (rt *Router) handle(pattern string, h Handler, noCSRF bool) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	rt.routes = append(rt.routes, Route{Method: method, Pattern: path, NoCSRF: noCSRF})
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !noCSRF && !safeMethod(r.Method) {
			if err := rt.checkCSRF(r); err != nil {
				rt.writeError(w, r, err)
				return
			}
		}
		rt.serve(h, w, r)
	}))
}

// Guard adds a check that runs before routing; it returns true when it has
// answered the request itself. Guards see the raw path, before the mux
// cleans it.
func (rt *Router) Guard(g func(http.ResponseWriter, *http.Request) bool) {
	rt.guards = append(rt.guards, g)
}

// Routes lists every registered route.
func (rt *Router) Routes() []Route { return slices.Clone(rt.routes) }

// Handler returns the whole surface wrapped in the security checks.
func (rt *Router) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header(), rt.cfg.AltSvc)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, rt.bodyLimit(r))
		}
		for _, g := range rt.guards {
			if g(w, r) {
				return
			}
		}
		rt.mux.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
