// Package events is the scoring service's event adapter: it turns consumed
// CloudEvents (survey's responses and withdrawals, identity's links,
// consent's decisions) into use-case calls and the application's
// announcements into outbox messages.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
	"poet.local/services/scoring/internal/store"
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

// responseSubmitted is api-specs/events/survey/response-submitted.v1.json.
type responseSubmitted struct {
	ResponseID        string         `json:"response_id"`
	OrganisationID    string         `json:"organisation_id"`
	SiteID            string         `json:"site_id"`
	ServiceLine       string         `json:"service_line"`
	InstrumentID      string         `json:"instrument_id"`
	InstrumentVersion string         `json:"instrument_version"`
	Mode              string         `json:"mode"`
	RespondentRole    string         `json:"respondent_role"`
	SubmittedAt       time.Time      `json:"submitted_at"`
	SubjectRef        string         `json:"subject_ref"`
	Answers           map[string]any `json:"answers"`
}

// Responses scores each submitted response and drops the score of each
// withdrawn one (see withdrawn). A response nothing can score (no rules for
// its instrument version, an answer off its scale) goes to the dead-letter
// topic with the reason; anything else is retried.
func Responses(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		if ev.Type == apispecs.TypeResponseWithdrawn {
			return withdrawn(ctx, a, s, tx, ev)
		}
		if ev.Type != apispecs.TypeResponseSubmitted {
			return nil
		}
		var p responseSubmitted
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		err := a.ScoreResponse(s.InTx(ctx, tx), domain.Response{
			ID: p.ResponseID, OrganisationID: p.OrganisationID, SiteID: p.SiteID, ServiceLine: p.ServiceLine,
			InstrumentID: p.InstrumentID, InstrumentVersion: p.InstrumentVersion, Mode: p.Mode,
			RespondentRole: p.RespondentRole, SubjectRef: p.SubjectRef, SubmittedAt: p.SubmittedAt, Answers: p.Answers,
		})
		var answerErr *domain.AnswerError
		if errors.Is(err, domain.ErrNoRules) || errors.Is(err, domain.ErrWrongRules) || errors.As(err, &answerErr) {
			return libevents.Permanent(err)
		}
		return err
	}
}

// link is the common part of subject-linked, subject-unlinked and
// subject-erased.
type link struct {
	SubjectRef     string    `json:"subject_ref"`
	OrganisationID string    `json:"organisation_id"`
	PersonKey      string    `json:"person_key"`
	EffectiveAt    time.Time `json:"effective_at"`
}

// Links keeps subject reference -> person key: set on subject-linked,
// cleared on subject-unlinked and subject-erased; on subject-erased the
// subject's scores are deleted and withdrawn as well.
func Links(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		switch ev.Type {
		case apispecs.TypeSubjectLinked, apispecs.TypeSubjectUnlinked, apispecs.TypeSubjectErased:
		default:
			return nil
		}
		var p link
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		l := domain.Link{SubjectRef: p.SubjectRef, OrganisationID: p.OrganisationID, EffectiveAt: p.EffectiveAt}
		if ev.Type == apispecs.TypeSubjectLinked {
			if p.PersonKey == "" {
				return libevents.Permanent(errors.New("subject-linked without a person key"))
			}
			l.PersonKey = p.PersonKey
		}
		t := s.InTx(ctx, tx)
		if err := a.RecordLink(t, l); err != nil {
			return err
		}
		if ev.Type == apispecs.TypeSubjectErased {
			// Identity shredded the subject: their scores go too.
			return a.EraseSubject(t, p.OrganisationID, p.SubjectRef)
		}
		return nil
	}
}
