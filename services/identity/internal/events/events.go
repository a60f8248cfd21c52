// Package events is the identity service's event adapter: it turns the
// application's announcements into outbox messages, and consent decisions
// (poet.consent.decisions) into linkage, unlinking and shredding, each in
// the consumer's transaction so the change, its announcements and the
// inbox record commit together.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/store"
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

type consentRecorded struct {
	ConsentID      string     `json:"consent_id"`
	OrganisationID string     `json:"organisation_id"`
	SubjectRef     string     `json:"subject_ref"`
	Scopes         []string   `json:"scopes"`
	LapsesAt       *time.Time `json:"lapses_at"`
}

type consentWithdrawn struct {
	ConsentID      string   `json:"consent_id"`
	OrganisationID string   `json:"organisation_id"`
	SubjectRef     string   `json:"subject_ref"`
	Scopes         []string `json:"scopes"`
}

type erasureRequested struct {
	OrganisationID string `json:"organisation_id"`
	SubjectRef     string `json:"subject_ref"`
}

// ConsentDecisions applies consent decisions: consent-recorded keeps the
// scopes and links a subject that now has cross-service-linkage consent;
// consent-withdrawn unlinks one that no longer has it; erasure-requested
// shreds the vault entry. A decision naming the wrong organisation for its
// subject reference goes to the dead-letter topic, unapplied.
func ConsentDecisions(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		var err error
		switch ev.Type {
		case apispecs.TypeConsentRecorded:
			var p consentRecorded
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				return libevents.Permanent(err)
			}
			err = a.ApplyConsentRecorded(ctx, s.InTx(ctx, tx), app.ConsentRecorded{ConsentID: p.ConsentID, OrganisationID: p.OrganisationID,
				SubjectRef: p.SubjectRef, Scopes: p.Scopes, LapsesAt: p.LapsesAt})
		case apispecs.TypeConsentWithdrawn:
			var p consentWithdrawn
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				return libevents.Permanent(err)
			}
			err = a.ApplyConsentWithdrawn(ctx, s.InTx(ctx, tx), app.ConsentWithdrawn{ConsentID: p.ConsentID, OrganisationID: p.OrganisationID,
				SubjectRef: p.SubjectRef, Scopes: p.Scopes})
		case apispecs.TypeErasureRequested:
			var p erasureRequested
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				return libevents.Permanent(err)
			}
			err = a.ApplyErasure(ctx, s.InTx(ctx, tx), app.ErasureRequested{OrganisationID: p.OrganisationID, SubjectRef: p.SubjectRef})
		default:
			return nil // other types on the topic are not ours to apply
		}
		if errors.Is(err, app.ErrWrongOrganisation) {
			return libevents.Permanent(err)
		}
		return err
	}
}

// LapseSweeper returns a worker that unlinks subjects whose linkage consent
// has lapsed, at start and then every interval.
func LapseSweeper(a *app.Service, interval time.Duration, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		if interval <= 0 {
			interval = time.Hour
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			n, err := a.SweepLapsedConsents(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.ErrorContext(ctx, "consent lapse sweep failed; retrying next interval", "error", err)
			case n > 0:
				log.InfoContext(ctx, "subjects unlinked: linkage consent lapsed", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

// LinkageJob returns a worker that runs batch linkage (app.RunLinkage) at
// start and then every interval; a run finding nothing changed is skipped
// cheaply. A failed run is logged and retried at the next interval.
func LinkageJob(a *app.Service, interval time.Duration, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		if interval <= 0 {
			interval = time.Minute
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if _, err := a.RunLinkage(ctx, app.TriggerSchedule, false); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "batch linkage failed; retrying next interval", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
