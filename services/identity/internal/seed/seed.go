// Package seed provides the organisations identity registers at start-up:
// those in a JSON file (IDENTITY_SEED_FILE, a list of registration bodies
// exactly as POST /v1/organisations takes them) and the built-in demo
// organisations of the one-command local run (IDENTITY_SEED_DEMO). Both go
// through the same use case as the API, so they are validated and announced
// the same way, and re-seeding an unchanged registry announces nothing.
package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svchttp "poet.local/services/identity/internal/http"
	"poet.local/services/identity/internal/http/api"
)

// DemoAudience and DemoRolesClaim are what the development issuer puts in
// its tokens.
const (
	DemoAudience   = "poet-platform"
	DemoRolesClaim = "roles"
)

// Decode reads a seed file: a JSON array of registration bodies. Unknown
// fields are errors, so a typo fails start-up instead of seeding less.
func Decode(r io.Reader) ([]domain.Organisation, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var list []api.NewOrganisation
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("seed: want a JSON array of organisations: %w", err)
	}
	if dec.More() {
		return nil, errors.New("seed: trailing data after the JSON array")
	}
	out := make([]domain.Organisation, len(list))
	for i, b := range list {
		out[i] = svchttp.OrganisationFromAPI(b)
	}
	return out, nil
}

// Demo returns the four demo organisations, each signing in with the
// development issuer at issuerBase + "/" + its slug.
func Demo(issuerBase string) ([]domain.Organisation, error) {
	u, err := url.Parse(issuerBase)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("seed: demo issuer base %q is not an absolute http(s) URL", issuerBase)
	}
	base := strings.TrimRight(issuerBase, "/")
	org := func(id, slug, name string, kind domain.Kind, region string, sites ...domain.Site) domain.Organisation {
		if sites == nil {
			sites = []domain.Site{}
		}
		return domain.Organisation{ID: id, Name: name, Kind: kind, Region: region, Issuer: base + "/" + slug,
			Audience: DemoAudience, RolesClaim: DemoRolesClaim, Sites: sites}
	}
	return []domain.Organisation{
		org("org_children_demo", "children-demo", "Northbrook Council children's services", domain.KindLocalAuthority, "North West",
			domain.Site{ID: "site_children_demo", Name: "Northbrook children's services", ServiceLine: domain.ServiceLineChildren}),
		org("org_adult_demo", "adult-demo", "Northbrook Council adult social care", domain.KindLocalAuthority, "North West",
			domain.Site{ID: "site_adult_demo", Name: "Northbrook adult social care", ServiceLine: domain.ServiceLineAdult}),
		org("org_health_demo", "health-demo", "Northbrook Integrated Care Board", domain.KindNHSBody, "North West",
			domain.Site{ID: "site_health_demo", Name: "Northbrook personal health budgets", ServiceLine: domain.ServiceLineHealth}),
		org("org_national_demo", "national-demo", "National POET team", domain.KindNationalTeam, "England"),
	}, nil
}

// Apply registers each organisation in order and reports how many were
// created or changed. It stops at the first failure, naming the organisation.
func Apply(ctx context.Context, a *app.Service, orgs []domain.Organisation) (changed int, err error) {
	for _, o := range orgs {
		reg, err := a.RegisterOrganisation(ctx, app.System, o, "")
		if err != nil {
			var ve *app.ValidationError
			if errors.As(err, &ve) {
				reasons := make([]string, len(ve.Fields))
				for i, f := range ve.Fields {
					reasons[i] = f.Pointer + ": " + f.Reason
				}
				return changed, fmt.Errorf("seed: organisation %q: %s", o.ID, strings.Join(reasons, "; "))
			}
			return changed, fmt.Errorf("seed: organisation %q: %w", o.ID, err)
		}
		if reg.Changed {
			changed++
		}
	}
	return changed, nil
}
