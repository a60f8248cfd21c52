package events

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/store"
)

// consentDecision is the common part of consent-recorded, consent-withdrawn
// and erasure-requested scoring acts on.
type consentDecision struct {
	ConsentID      string   `json:"consent_id"`
	OrganisationID string   `json:"organisation_id"`
	SubjectRef     string   `json:"subject_ref"`
	Scopes         []string `json:"scopes"`
}

// ConsentDecisions honours consent (poet.consent.decisions) in the
// consumer's transaction: recorded and withdrawn scopes decide whether the
// subject's scores count in local reports and national figures, and an
// erasure request deletes the subject's scores; read models are told by
// score-withdrawn or a fresh response-scored.
func ConsentDecisions(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		switch ev.Type {
		case apispecs.TypeConsentRecorded, apispecs.TypeConsentWithdrawn, apispecs.TypeErasureRequested:
		default:
			return nil
		}
		var p consentDecision
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		t := s.InTx(ctx, tx)
		c := app.ConsentScopes{ConsentID: p.ConsentID, OrganisationID: p.OrganisationID, SubjectRef: p.SubjectRef, Scopes: p.Scopes}
		switch ev.Type {
		case apispecs.TypeConsentRecorded:
			return a.ApplyConsentRecorded(t, c)
		case apispecs.TypeConsentWithdrawn:
			return a.ApplyConsentWithdrawn(t, c)
		default:
			return a.EraseSubject(t, p.OrganisationID, p.SubjectRef)
		}
	}
}

// responseWithdrawn is the part of
// api-specs/events/survey/response-withdrawn.v1.json scoring acts on.
type responseWithdrawn struct {
	ResponseID string `json:"response_id"`
	Reason     string `json:"reason"`
}

// withdrawn drops the score of a response survey withdrew; an erased one
// is withdrawn downstream with reason erasure.
func withdrawn(ctx context.Context, a *app.Service, s *store.Store, tx *gorm.DB, ev libevents.Event) error {
	var p responseWithdrawn
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return libevents.Permanent(err)
	}
	reason := app.ReasonResponseWithdrawn
	if p.Reason == "erasure" {
		reason = app.ReasonErasure
	}
	return a.WithdrawResponse(s.InTx(ctx, tx), p.ResponseID, reason)
}
