// Package domain holds identity's types and rules: the registry of
// organisations and their sites; identifiers and their validation (NHS
// number and UPN check characters, normalisation for the blind indexes);
// subject references and person keys, each a keyed HMAC (the pseudonyms the
// other services hold instead of a person's identifiers); subjects and
// linkage reviews. It does no I/O and imports no framework, so every rule
// here is tested with plain values.
package domain

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors that use cases translate to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	// ErrIdempotencyMismatch: an Idempotency-Key was reused for another request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused for a different request")
)

// Kind is what sort of body an organisation is.
type Kind string

// Kinds of organisation.
const (
	KindLocalAuthority Kind = "local-authority"
	KindNHSBody        Kind = "nhs-body"
	KindSchool         Kind = "school"
	KindProvider       Kind = "provider"
	KindNationalTeam   Kind = "national-team"
)

// Kinds lists every kind, in the order the API documents them.
var Kinds = []Kind{KindLocalAuthority, KindNHSBody, KindSchool, KindProvider, KindNationalTeam}

// ServiceLine is the part of support a site gives.
type ServiceLine string

// Service lines.
const (
	ServiceLineChildren ServiceLine = "children"
	ServiceLineAdult    ServiceLine = "adult"
	ServiceLineHealth   ServiceLine = "health"
)

// ServiceLines lists every service line.
var ServiceLines = []ServiceLine{ServiceLineChildren, ServiceLineAdult, ServiceLineHealth}

// DefaultRolesClaim is the roles claim when a registration names none.
const DefaultRolesClaim = "roles"

// The id patterns are the event contract's (api-specs/events/common.json).
var (
	organisationIDPattern = regexp.MustCompile(`^org_[a-z0-9_]{2,60}$`)
	siteIDPattern         = regexp.MustCompile(`^site_[a-z0-9_]{2,60}$`)
)

// Organisation is a registered body with its sign-in issuer and sites.
type Organisation struct {
	ID, Name   string
	Kind       Kind
	Region     string
	Issuer     string
	Audience   string
	RolesClaim string
	Sites      []Site
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Site is one service line of one organisation; every record belongs to one.
type Site struct {
	ID             string
	OrganisationID string
	Name           string
	ServiceLine    ServiceLine
}

// FieldError names a failing field by JSON pointer and says why in plain
// English.
type FieldError struct {
	Pointer string
	Reason  string
}

// Normalise trims text, fills the default roles claim, stamps each site with
// the organisation and sorts the sites by id, so that two registrations of
// the same state compare equal.
func (o Organisation) Normalise() Organisation {
	o.ID = strings.TrimSpace(o.ID)
	o.Name = strings.TrimSpace(o.Name)
	o.Region = strings.TrimSpace(o.Region)
	o.Issuer = strings.TrimSpace(o.Issuer)
	o.Audience = strings.TrimSpace(o.Audience)
	o.RolesClaim = strings.TrimSpace(o.RolesClaim)
	if o.RolesClaim == "" {
		o.RolesClaim = DefaultRolesClaim
	}
	sites := make([]Site, len(o.Sites))
	for i, s := range o.Sites {
		sites[i] = Site{ID: strings.TrimSpace(s.ID), OrganisationID: o.ID, Name: strings.TrimSpace(s.Name), ServiceLine: s.ServiceLine}
	}
	slices.SortStableFunc(sites, func(a, b Site) int { return strings.Compare(a.ID, b.ID) })
	o.Sites = sites
	return o
}

// Validate lists every problem with a normalised registration. Pointers are
// into the registration body; sites are numbered in the sorted order.
func (o Organisation) Validate() []FieldError {
	var errs []FieldError
	add := func(ptr, reason string) { errs = append(errs, FieldError{ptr, reason}) }
	if !organisationIDPattern.MatchString(o.ID) {
		add("/id", `An organisation id is "org_" followed by 2 to 60 lower-case letters, digits or underscores`)
	}
	if reason := text(o.Name, 200); reason != "" {
		add("/name", reason)
	}
	if !slices.Contains(Kinds, o.Kind) {
		add("/kind", "Choose one of: local-authority, nhs-body, school, provider, national-team")
	}
	if reason := text(o.Region, 80); reason != "" {
		add("/region", reason)
	}
	if reason := issuerProblem(o.Issuer); reason != "" {
		add("/issuer", reason)
	}
	if reason := text(o.Audience, 200); reason != "" {
		add("/audience", reason)
	}
	if len(o.RolesClaim) > 200 || slices.Contains(strings.Split(o.RolesClaim, "."), "") {
		add("/roles_claim", `Give the claim that carries roles, as a name or a dotted path such as "realm_access.roles"`)
	}
	seen := map[string]bool{}
	for i, s := range o.Sites {
		ptr := fmt.Sprintf("/sites/%d", i)
		switch {
		case !siteIDPattern.MatchString(s.ID):
			add(ptr+"/id", `A site id is "site_" followed by 2 to 60 lower-case letters, digits or underscores`)
		case seen[s.ID]:
			add(ptr+"/id", "This site is listed twice")
		}
		seen[s.ID] = true
		if reason := text(s.Name, 200); reason != "" {
			add(ptr+"/name", reason)
		}
		if !slices.Contains(ServiceLines, s.ServiceLine) {
			add(ptr+"/service_line", "Choose one of: children, adult, health")
		}
	}
	return errs
}

// SameState reports whether a and b (both normalised) describe the same
// registration, ignoring timestamps: re-registering it changes nothing.
func SameState(a, b Organisation) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Kind == b.Kind && a.Region == b.Region &&
		a.Issuer == b.Issuer && a.Audience == b.Audience && a.RolesClaim == b.RolesClaim &&
		slices.Equal(a.Sites, b.Sites)
}

// MissingSites returns the ids of sites in prev that next leaves out. A
// registered site may hold records elsewhere, so it cannot just vanish.
func MissingSites(prev, next Organisation) []string {
	keep := map[string]bool{}
	for _, s := range next.Sites {
		keep[s.ID] = true
	}
	var out []string
	for _, s := range prev.Sites {
		if !keep[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

func text(s string, max int) string {
	switch {
	case s == "":
		return "This is required"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("Use at most %d characters", max)
	case strings.ContainsFunc(s, isControl):
		return "Remove control characters"
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// issuerProblem mirrors what token verification accepts: an absolute http(s)
// URL without query or fragment.
func issuerProblem(s string) string {
	if s == "" {
		return "This is required"
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "Give the issuer as an absolute http(s) URL without query, fragment or credentials"
	}
	if len(s) > 500 {
		return "Use at most 500 characters"
	}
	return ""
}
