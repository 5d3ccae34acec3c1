// Package keystone validates OpenStack Keystone v3 tokens for imgward, as
// keystonemiddleware does for an OpenStack service: imgward holds a service
// token of its own (a password-scoped token of a service user) and asks
// Keystone about each caller's token with GET /v3/auth/tokens, the caller's
// token in X-Subject-Token. A valid token is cached until it expires or
// for CacheTime (300 s by default, so a revocation takes effect), a
// rejected one for a short while, in a bounded cache, so that a request with
// a known token costs no round trip.
//
// What Keystone says is mapped to imgward's vocabulary by the caller
// (catalog.Service.KeystonePrincipal): the token's project is the imgward
// project, its user the imgward user, and its roles decide the role.
package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"imgward/errors"
)

// Config says where Keystone is and how imgward authenticates to it.
type Config struct {
	// URL is Keystone's identity endpoint, with or without /v3.
	URL string
	// The service user's credentials: a user with Keystone's "service" (or
	// admin) role in its project, as every OpenStack service has.
	Username, Password, ProjectName string
	UserDomain, ProjectDomain       string // names; "Default" when empty
	// CacheSize bounds the cached tokens; at least MinCacheSize.
	CacheSize int
	// NegativeTTL is how long a rejected token stays rejected without
	// asking Keystone again; default 5 s.
	NegativeTTL time.Duration
	// CacheTime bounds how long a valid token is trusted without asking
	// Keystone again, so that a revoked token stops working within it
	// (keystonemiddleware's token_cache_time); default 300 s. A token is
	// never trusted past its own expiry.
	CacheTime time.Duration
	// Client is the HTTP client; nil means one with a 10 s timeout.
	Client *http.Client
	Now    func() time.Time // nil: time.Now
}

// MinCacheSize is the least number of tokens the cache holds.
const MinCacheSize = 10_000

// maxBody bounds Keystone's answers: a token with its catalog is a few
// tens of KiB.
const maxBody = 4 << 20

// Identity is what Keystone says of a valid, project-scoped token.
type Identity struct {
	UserID, UserName       string
	ProjectID, ProjectName string
	Roles                  []string
	ExpiresAt              time.Time
}

// HasRole reports whether the identity holds role in its project.
func (id *Identity) HasRole(role string) bool {
	for _, r := range id.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

// Validator validates tokens against Keystone.
type Validator struct {
	cfg   Config
	base  string // ".../v3"
	cache *cache

	mu      sync.Mutex
	service string    // imgward's own token
	expires time.Time // of service
}

// New returns a Validator; it does not contact Keystone until the first
// validation.
func New(cfg Config) (*Validator, error) {
	const op = "keystone.New"
	if cfg.URL == "" || cfg.Username == "" || cfg.Password == "" || cfg.ProjectName == "" {
		return nil, errors.E(op, errors.Invalid, errors.Msg("keystone needs a URL and the service user's name, password and project"))
	}
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, errors.E(op, errors.Invalid, errors.Msg("keystone URL must be http:// or https://"))
	}
	if cfg.UserDomain == "" {
		cfg.UserDomain = "Default"
	}
	if cfg.ProjectDomain == "" {
		cfg.ProjectDomain = "Default"
	}
	cfg.CacheSize = max(cfg.CacheSize, MinCacheSize)
	if cfg.CacheTime <= 0 {
		cfg.CacheTime = 300 * time.Second
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := strings.TrimRight(cfg.URL, "/")
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	return &Validator{cfg: cfg, base: base, cache: newCache(cfg.CacheSize)}, nil
}

// Validate returns the identity of a valid, project-scoped token. An
// invalid, expired or unscoped token is errors.Unauthenticated; Keystone
// unreachable is errors.Unavailable.
func (v *Validator) Validate(ctx context.Context, token string) (*Identity, error) {
	const op = "keystone.Validate"
	now := v.cfg.Now()
	if id, ok, hit := v.cache.get(token, now); hit {
		if !ok {
			return nil, errors.E(op, errors.Unauthenticated, errors.Msg("invalid token"))
		}
		return id, nil
	}
	id, err := v.check(ctx, token)
	switch {
	case errors.Is(errors.Unauthenticated, err):
		v.cache.put(token, nil, now.Add(v.cfg.NegativeTTL))
		return nil, errors.E(op, err)
	case err != nil:
		return nil, errors.E(op, err)
	case !now.Before(id.ExpiresAt):
		return nil, errors.E(op, errors.Unauthenticated, errors.Msg("token expired"))
	}
	until := now.Add(v.cfg.CacheTime)
	if id.ExpiresAt.Before(until) {
		until = id.ExpiresAt
	}
	v.cache.put(token, id, until)
	return id, nil
}

// check asks Keystone about token, renewing imgward's own token once if
// Keystone no longer takes it.
func (v *Validator) check(ctx context.Context, token string) (*Identity, error) {
	for attempt := 0; ; attempt++ {
		svc, err := v.serviceToken(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, "GET", v.base+"/auth/tokens?nocatalog", nil)
		if err != nil {
			return nil, errors.E(errors.Internal, err)
		}
		req.Header.Set("X-Auth-Token", svc)
		req.Header.Set("X-Subject-Token", token)
		resp, err := v.cfg.Client.Do(req)
		if err != nil {
			return nil, errors.E(errors.Unavailable, errors.Msg("keystone is unreachable"), err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return nil, errors.E(errors.Unavailable, errors.Msg("keystone's answer broke off"), err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return parseToken(body)
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			continue // imgward's own token expired or was revoked
		case resp.StatusCode == http.StatusNotFound:
			return nil, errors.E(errors.Unauthenticated, errors.Msg("invalid token"))
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, errors.E(errors.Unavailable, errors.Msg("keystone refuses imgward's service credentials"))
		}
		return nil, errors.E(errors.Unavailable, errors.Msg("keystone answered "+resp.Status))
	}
}

// tokenBody is the part of Keystone's token document that imgward reads.
type tokenBody struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		User      struct{ ID, Name string }
		Project   *struct{ ID, Name string }
		Roles     []struct{ ID, Name string }
	}
}

func parseToken(body []byte) (*Identity, error) {
	var tb tokenBody
	if err := json.Unmarshal(body, &tb); err != nil {
		return nil, errors.E(errors.Unavailable, errors.Msg("keystone's token document is malformed"), err)
	}
	t := tb.Token
	exp, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	if err != nil {
		return nil, errors.E(errors.Unavailable, errors.Msg("keystone's token has no valid expires_at"), err)
	}
	if t.Project == nil || t.Project.ID == "" || t.User.ID == "" {
		return nil, errors.E(errors.Unauthenticated, errors.Msg("the token must be scoped to a project"))
	}
	id := &Identity{UserID: t.User.ID, UserName: t.User.Name, ProjectID: t.Project.ID,
		ProjectName: t.Project.Name, ExpiresAt: exp}
	for _, r := range t.Roles {
		id.Roles = append(id.Roles, r.Name)
	}
	return id, nil
}

// serviceToken returns imgward's own token, issuing a new one when there
// is none, it expires within a minute, or renew is set.
func (v *Validator) serviceToken(ctx context.Context, renew bool) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !renew && v.service != "" && v.cfg.Now().Add(time.Minute).Before(v.expires) {
		return v.service, nil
	}
	var auth struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string            `json:"name"`
						Password string            `json:"password"`
						Domain   map[string]string `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string            `json:"name"`
					Domain map[string]string `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	a := &auth.Auth
	a.Identity.Methods = []string{"password"}
	u := &a.Identity.Password.User
	u.Name, u.Password, u.Domain = v.cfg.Username, v.cfg.Password, map[string]string{"name": v.cfg.UserDomain}
	a.Scope.Project.Name, a.Scope.Project.Domain = v.cfg.ProjectName, map[string]string{"name": v.cfg.ProjectDomain}
	b, _ := json.Marshal(&auth)
	req, err := http.NewRequestWithContext(ctx, "POST", v.base+"/auth/tokens?nocatalog", bytes.NewReader(b))
	if err != nil {
		return "", errors.E(errors.Internal, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.cfg.Client.Do(req)
	if err != nil {
		return "", errors.E(errors.Unavailable, errors.Msg("keystone is unreachable"), err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return "", errors.E(errors.Unavailable, errors.Msg("keystone refuses imgward's service credentials ("+resp.Status+")"))
	}
	id, err := parseToken(body)
	if err != nil {
		return "", err
	}
	v.service, v.expires = resp.Header.Get("X-Subject-Token"), id.ExpiresAt
	if v.service == "" {
		return "", errors.E(errors.Unavailable, errors.Msg("keystone issued no X-Subject-Token"))
	}
	return v.service, nil
}
