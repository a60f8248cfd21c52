// Package events is the survey service's event adapter: it turns consumed
// CloudEvents into use-case calls and the application's announcements into
// outbox messages.
package events

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/store"
)

// Publisher is how announcements reach the outbox (runtime.Publish).
type Publisher func(ctx context.Context, tx *gorm.DB, msgs ...libevents.Message) error

// Announcer adapts the application's announcements to the outbox.
func Announcer(publish Publisher) store.Announcer {
	return func(ctx context.Context, tx *gorm.DB, as ...app.Announcement) error {
		msgs := make([]libevents.Message, len(as))
		for i, a := range as {
			msgs[i] = libevents.Message{Topic: a.Topic, Key: a.Key, Type: a.Type, Subject: a.Subject, Payload: a.Payload}
		}
		return publish(ctx, tx, msgs...)
	}
}

type organisationRegistered struct {
	OrganisationID string `json:"organisation_id"`
	Sites          []struct {
		SiteID      string `json:"site_id"`
		ServiceLine string `json:"service_line"`
	} `json:"sites"`
}

// Organisations applies identity's organisation registry to survey's sites.
func Organisations(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		if ev.Type != apispecs.TypeOrganisationRegistered {
			return nil // other types on the topic are not ours to apply
		}
		var o organisationRegistered
		if err := json.Unmarshal(ev.Data, &o); err != nil {
			return libevents.Permanent(err)
		}
		reg := app.OrganisationRegistered{OrganisationID: o.OrganisationID}
		for _, site := range o.Sites {
			reg.Sites = append(reg.Sites, domain.Site{ID: site.SiteID, ServiceLine: domain.ServiceLine(site.ServiceLine)})
		}
		return a.RecordOrganisation(s.InTx(ctx, tx), reg)
	}
}
