// Package events is the reporting service's event adapter: it turns
// identity's organisation registry and scoring's results into use-case
// calls, each inside the consumer's transaction, so the inbox mark, the
// contribution and the rollups commit together.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/store"
)

// organisationRegistered is the part of
// api-specs/events/identity/organisation-registered.v1.json reporting keeps.
type organisationRegistered struct {
	OrganisationID string `json:"organisation_id"`
	Name           string `json:"name"`
	Kind           string `json:"kind"`
	Region         string `json:"region"`
	Sites          []struct {
		SiteID      string `json:"site_id"`
		Name        string `json:"name"`
		ServiceLine string `json:"service_line"`
	} `json:"sites"`
}

// Organisations keeps identity's registry of organisations and sites.
func Organisations(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		if ev.Type != apispecs.TypeOrganisationRegistered {
			return nil
		}
		var p organisationRegistered
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		o := domain.Organisation{ID: p.OrganisationID, Name: p.Name, Kind: p.Kind, Region: p.Region}
		for _, site := range p.Sites {
			o.Sites = append(o.Sites, domain.Site{ID: site.SiteID, OrganisationID: p.OrganisationID, Name: site.Name, ServiceLine: site.ServiceLine})
		}
		return a.RecordOrganisation(s.InTx(tx), o)
	}
}

// responseScored is the part of api-specs/events/scoring/response-scored.v1.json
// the rollups count.
type responseScored struct {
	ResponseID        string                 `json:"response_id"`
	OrganisationID    string                 `json:"organisation_id"`
	SiteID            string                 `json:"site_id"`
	ServiceLine       string                 `json:"service_line"`
	InstrumentID      string                 `json:"instrument_id"`
	InstrumentVersion string                 `json:"instrument_version"`
	RulesVersion      string                 `json:"rules_version"`
	Period            string                 `json:"period"`
	SubmittedAt       time.Time              `json:"submitted_at"`
	PersonKey         string                 `json:"person_key"`
	National          *bool                  `json:"national"` // absent: true
	Domains           []domain.DomainOutcome `json:"domains"`
	Groups            domain.Groups          `json:"groups"`
	Process           []domain.ProcessValue  `json:"process"`
}

// Scores counts each scored response into the rollups (a repeat replaces
// the counted one: a re-score, or a change of national standing) and takes
// each withdrawn score out again (withdrawal.go). A result the rollups can
// never count goes to the dead-letter topic with the reason.
func Scores(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		if ev.Type == apispecs.TypeScoreWithdrawn {
			return withdrawScore(a, s, tx, ev)
		}
		if ev.Type != apispecs.TypeResponseScored {
			return nil
		}
		var p responseScored
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		err := a.ApplyScore(s.InTx(tx), domain.Contribution{
			ResponseID: p.ResponseID, OrganisationID: p.OrganisationID, SiteID: p.SiteID, ServiceLine: p.ServiceLine,
			InstrumentID: p.InstrumentID, InstrumentVersion: p.InstrumentVersion, RulesVersion: p.RulesVersion,
			Period: p.Period, PersonKey: p.PersonKey, Domains: p.Domains, SubmittedAt: p.SubmittedAt,
			ExcludedNationally: p.National != nil && !*p.National,
			Groups:             p.Groups, Process: p.Process,
		})
		var invalid *app.InvalidError
		if errors.As(err, &invalid) {
			return libevents.Permanent(err)
		}
		return err
	}
}
