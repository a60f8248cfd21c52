// Package authn verifies staff bearer tokens from many OpenID Connect issuers
// at once and turns them into a Principal scoped to one organisation.
//
// Every organisation brings its own issuer (its own Keycloak realm, Entra
// tenant or, locally, a devoidc issuer), so a service cannot trust "a" token
// provider: it keeps a registry of issuer -> organisation, picks the entry by
// the token's (as yet unverified) "iss" claim, and only then verifies the
// signature, issuer, audience and expiry against that issuer's published keys.
// The organisation therefore comes from configuration, never from a claim the
// token could forge, and ForOrganisation scopes every staff query to it.
package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Roles a staff principal can hold (design §8).
const (
	RolePractitioner = "practitioner"
	RoleAnalyst      = "analyst"
	RoleTransition   = "transition"
	RoleNational     = "national"
	RoleOperator     = "operator"
)

// DefaultRolesClaim is the claim read for roles when IssuerConfig.RolesClaim is empty.
const DefaultRolesClaim = "roles"

// IssuerConfig registers one organisation's OIDC issuer.
type IssuerConfig struct {
	Organisation string `json:"organisation"` // organisation id, e.g. "org_children_demo"
	Issuer       string `json:"issuer"`
	Audience     string `json:"audience"`
	RolesClaim   string `json:"roles_claim"` // default "roles"; a dotted path like "realm_access.roles" (Keycloak) also works
}

// Validate reports the first missing or malformed field.
func (ic IssuerConfig) Validate() error {
	if strings.TrimSpace(ic.Organisation) == "" {
		return errors.New("organisation is required")
	}
	if ic.Issuer == "" {
		return fmt.Errorf("organisation %q: issuer is required", ic.Organisation)
	}
	u, err := url.Parse(ic.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("organisation %q: issuer %q must be an absolute http(s) URL without query or fragment", ic.Organisation, ic.Issuer)
	}
	if strings.TrimSpace(ic.Audience) == "" {
		return fmt.Errorf("organisation %q: audience is required", ic.Organisation)
	}
	if ic.RolesClaim != "" && slices.Contains(strings.Split(ic.RolesClaim, "."), "") {
		return fmt.Errorf("organisation %q: roles_claim %q is not a valid dotted path", ic.Organisation, ic.RolesClaim)
	}
	return nil
}

func (ic IssuerConfig) withDefaults() IssuerConfig {
	if ic.RolesClaim == "" {
		ic.RolesClaim = DefaultRolesClaim
	}
	return ic
}

// ParseIssuers reads a JSON array of IssuerConfig (typically from an
// environment variable). An empty or blank text is an empty list. Unknown
// fields, invalid entries and an issuer or organisation listed twice are
// errors, so a typo fails at start-up rather than as 401s later.
func ParseIssuers(jsonText string) ([]IssuerConfig, error) {
	if strings.TrimSpace(jsonText) == "" {
		return []IssuerConfig{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(jsonText)))
	dec.DisallowUnknownFields()
	var list []IssuerConfig
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("authn: parse issuers: %w", err)
	}
	if dec.More() {
		return nil, errors.New("authn: parse issuers: trailing data after the JSON array")
	}
	seenIssuer := map[string]bool{}
	seenOrg := map[string]bool{}
	out := make([]IssuerConfig, 0, len(list))
	for i, ic := range list {
		if err := ic.Validate(); err != nil {
			return nil, fmt.Errorf("authn: issuer %d: %w", i, err)
		}
		if seenIssuer[ic.Issuer] {
			return nil, fmt.Errorf("authn: issuer %q is listed twice", ic.Issuer)
		}
		if seenOrg[ic.Organisation] {
			return nil, fmt.Errorf("authn: organisation %q is listed twice", ic.Organisation)
		}
		seenIssuer[ic.Issuer], seenOrg[ic.Organisation] = true, true
		out = append(out, ic.withDefaults())
	}
	return out, nil
}

// Principal is the verified caller.
type Principal struct {
	Organisation string // from the issuer registry, not from the token
	Issuer       string
	Subject      string
	Roles        []string
}

// Has reports whether the principal holds role.
func (p Principal) Has(role string) bool {
	return slices.Contains(p.Roles, role)
}
