// Package app holds the survey service's use cases: run campaigns at a site,
// take respondents' answers through open links, and keep the site registry
// that identity announces. Adapters (HTTP, store, events) call in here.
package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/platform/ids"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/fhir"
)

// Announcement is an event to publish with the transaction that caused it.
type Announcement struct {
	Topic, Key, Type, Subject string
	Payload                   any
}

// Tx is the unit of work: everything in one call of Store.Do commits or
// rolls back together, announcements included.
type Tx interface {
	UpsertSite(domain.Site) error
	Site(id string) (domain.Site, error)
	CampaignByIdempotencyKey(org, key string) (domain.Campaign, error)
	InsertCampaign(c domain.Campaign, idempotencyKey string) error
	CampaignByLinkToken(token string) (domain.Campaign, error)
	Campaign(id string) (domain.Campaign, error)
	Campaigns(org, after string, limit int) ([]domain.Campaign, error)
	ResponseByIdempotencyKey(campaignID, key string) (domain.Response, error)
	InsertResponse(domain.Response) error
	Response(id string) (domain.Response, error)
	Announce(...Announcement) error
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is the signed-in member of staff.
type Caller struct {
	Organisation string
	Roles        []string
}

// ValidationError carries each failing field to the HTTP adapter.
type ValidationError struct {
	Detail string
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string { return e.Detail }

// Service is the survey application.
type Service struct {
	store       Store
	instruments map[string]domain.Instrument
	now         func() time.Time
}

// New returns the application over a store and the loaded instruments.
func New(store Store, instruments []domain.Instrument, now func() time.Time) *Service {
	m := make(map[string]domain.Instrument, len(instruments))
	for _, in := range instruments {
		m[in.Key()] = in
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, instruments: m, now: now}
}

// Instruments lists instruments sorted by id then version.
func (s *Service) Instruments() []domain.Instrument {
	out := make([]domain.Instrument, 0, len(s.instruments))
	for _, in := range s.instruments {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// NewCampaign is what staff ask for.
type NewCampaign struct {
	SiteID, InstrumentID, InstrumentVersion, Name string
	OpensAt, ClosesAt                             *time.Time
	IdempotencyKey                                string
}

// CreateCampaign starts a campaign at one of the caller's own sites. A retry
// with the same idempotency key returns the first campaign.
func (s *Service) CreateCampaign(ctx context.Context, who Caller, req NewCampaign) (domain.Campaign, error) {
	var fields []domain.FieldError
	in, ok := s.instruments[req.InstrumentID+"@"+req.InstrumentVersion]
	if !ok {
		fields = append(fields, domain.FieldError{Pointer: "/instrument_version", Reason: "No instrument with this id and version"})
	}
	if strings.TrimSpace(req.Name) == "" {
		fields = append(fields, domain.FieldError{Pointer: "/name", Reason: "Give the campaign a name"})
	}
	opens := s.now().UTC()
	if req.OpensAt != nil {
		opens = req.OpensAt.UTC()
	}
	if req.ClosesAt != nil && !req.ClosesAt.After(opens) {
		fields = append(fields, domain.FieldError{Pointer: "/closes_at", Reason: "The closing date must be after the opening date"})
	}
	if len(fields) > 0 {
		return domain.Campaign{}, &ValidationError{Detail: "The campaign could not be created", Fields: fields}
	}
	var out domain.Campaign
	err := s.store.Do(ctx, func(tx Tx) error {
		if req.IdempotencyKey != "" {
			c, err := tx.CampaignByIdempotencyKey(who.Organisation, req.IdempotencyKey)
			if err == nil {
				out = c
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		site, err := tx.Site(req.SiteID)
		if errors.Is(err, domain.ErrNotFound) || err == nil && site.OrganisationID != who.Organisation {
			// Another organisation's site is reported as absent: no probing.
			return &ValidationError{Detail: "The campaign could not be created", Fields: []domain.FieldError{{Pointer: "/site_id", Reason: "Your organisation has no site with this id"}}}
		}
		if err != nil {
			return err
		}
		if !in.Serves(site.ServiceLine) {
			return &ValidationError{Detail: "The campaign could not be created", Fields: []domain.FieldError{{Pointer: "/instrument_id", Reason: fmt.Sprintf("This instrument is not for %s services", site.ServiceLine)}}}
		}
		out = domain.Campaign{
			ID: ids.New("cmp"), OrganisationID: who.Organisation, SiteID: site.ID, ServiceLine: site.ServiceLine,
			InstrumentID: in.ID, InstrumentVersion: in.Version, Name: strings.TrimSpace(req.Name),
			OpensAt: opens, ClosesAt: req.ClosesAt, OpenLinkToken: ids.Token(), CreatedAt: s.now().UTC(),
		}
		return tx.InsertCampaign(out, req.IdempotencyKey)
	})
	return out, err
}

// Campaigns pages through the caller's organisation's campaigns.
func (s *Service) Campaigns(ctx context.Context, who Caller, after string, limit int) (list []domain.Campaign, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		list, err = tx.Campaigns(who.Organisation, after, limit+1)
		return err
	})
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, err
}

// Submission is one respondent's answers through an open link.
type Submission struct {
	LinkToken      string
	Mode           string
	Answers        map[string]any
	IdempotencyKey string
}

// Submit validates answers against the campaign's instrument, stores them and
// announces response-submitted in the same transaction. A retry with the same
// idempotency key returns the first receipt and stores nothing new.
func (s *Service) Submit(ctx context.Context, sub Submission) (domain.Response, error) {
	var out domain.Response
	err := s.store.Do(ctx, func(tx Tx) error {
		c, err := tx.CampaignByLinkToken(sub.LinkToken)
		if err != nil {
			return err
		}
		out, err = s.accept(tx, c, sub, nil)
		return err
	})
	return out, err
}

// FHIRImport is a QuestionnaireResponse a practitioner enters for a
// campaign (a paper or telephone return, typically).
type FHIRImport struct {
	Resource       fhir.QuestionnaireResponse
	Mode           string // from the query; the resource's extension is the other source
	IdempotencyKey string
}

// DefaultImportMode is how an imported response was answered unless it says.
const DefaultImportMode = "paper"

// ImportResponse takes a QuestionnaireResponse into one of the caller's
// organisation's campaigns. It is read into answers and then goes through
// exactly the steps of Submit (idempotency, open dates, validation, store,
// announcement), so an imported response is indistinguishable downstream.
// Another organisation's campaign is reported as absent.
func (s *Service) ImportResponse(ctx context.Context, who Caller, campaignID string, imp FHIRImport) (domain.Response, error) {
	var out domain.Response
	err := s.store.Do(ctx, func(tx Tx) error {
		c, err := tx.Campaign(campaignID)
		if err != nil {
			return err
		}
		if c.OrganisationID != who.Organisation {
			return domain.ErrNotFound
		}
		in, ok := s.instruments[c.InstrumentID+"@"+c.InstrumentVersion]
		if !ok {
			return fmt.Errorf("campaign %s names an instrument that is not loaded", c.ID)
		}
		read, fields := fhir.FromQuestionnaireResponse(in, imp.Resource)
		mode := imp.Mode
		switch {
		case mode != "" && read.Mode != "" && mode != read.Mode:
			fields = append(fields, domain.FieldError{Pointer: "/extension", Reason: "The mode in the query and in the response's extension disagree"})
		case mode == "":
			mode = read.Mode
		}
		if mode == "" {
			mode = DefaultImportMode
		}
		if read.SubjectRef != "" {
			// Survey cannot vouch for a subject reference it did not see
			// issued; linking a person is identity's job.
			fields = append(fields, domain.FieldError{Pointer: "/subject", Reason: "Imported responses are anonymous: leave out the subject and link the person through identity"})
		}
		out, err = s.accept(tx, c, Submission{Mode: mode, Answers: read.Answers, IdempotencyKey: imp.IdempotencyKey}, fields)
		return err
	})
	return out, err
}

// accept is the one path every response takes into the store: a retry with
// the same idempotency key returns the first receipt; otherwise the campaign
// must be open, the mode known and the answers valid (fields carries
// problems the caller found on the way in), and the response is stored and
// announced in tx.
func (s *Service) accept(tx Tx, c domain.Campaign, sub Submission, fields []domain.FieldError) (domain.Response, error) {
	if sub.IdempotencyKey != "" {
		prev, err := tx.ResponseByIdempotencyKey(c.ID, sub.IdempotencyKey)
		if err == nil {
			return prev, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return domain.Response{}, err
		}
	}
	now := s.now().UTC()
	if !c.AcceptsAt(now) {
		return domain.Response{}, domain.ErrCampaignShut
	}
	in, ok := s.instruments[c.InstrumentID+"@"+c.InstrumentVersion]
	if !ok {
		return domain.Response{}, fmt.Errorf("campaign %s names an instrument that is not loaded", c.ID)
	}
	mode := sub.Mode
	if mode == "" {
		mode = "online"
	}
	if !domain.ValidMode(mode) {
		fields = append(fields, domain.FieldError{Pointer: "/mode", Reason: "Unknown mode of answering"})
	}
	fields = append(fields, in.ValidateAnswers(sub.Answers, now)...)
	if len(fields) > 0 {
		return domain.Response{}, &ValidationError{Detail: "Some answers need correcting", Fields: fields}
	}
	answers := domain.Normalise(sub.Answers)
	r := domain.Response{
		ID: ids.New("resp"), CampaignID: c.ID, OrganisationID: c.OrganisationID, SiteID: c.SiteID,
		ServiceLine: c.ServiceLine, InstrumentID: c.InstrumentID, InstrumentVersion: c.InstrumentVersion,
		Mode: mode, RespondentRole: in.RespondentRoleOf(answers), Answers: answers,
		SubmittedAt: now, IdempotencyKey: sub.IdempotencyKey,
	}
	if err := tx.InsertResponse(r); err != nil {
		return domain.Response{}, err
	}
	return r, tx.Announce(responseSubmitted(r))
}

// ExportResponse returns one of the caller's organisation's responses as a
// FHIR QuestionnaireResponse. Another organisation's is reported as absent.
func (s *Service) ExportResponse(ctx context.Context, who Caller, responseID string) (fhir.QuestionnaireResponse, error) {
	var r domain.Response
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		r, err = tx.Response(responseID)
		if err == nil && r.OrganisationID != who.Organisation {
			return domain.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fhir.QuestionnaireResponse{}, err
	}
	in, ok := s.instruments[r.InstrumentID+"@"+r.InstrumentVersion]
	if !ok {
		return fhir.QuestionnaireResponse{}, fmt.Errorf("response %s names an instrument that is not loaded", r.ID)
	}
	return fhir.ToQuestionnaireResponse(in, r), nil
}

// Instrument returns one instrument version.
func (s *Service) Instrument(id, version string) (domain.Instrument, error) {
	in, ok := s.instruments[id+"@"+version]
	if !ok {
		return domain.Instrument{}, domain.ErrNotFound
	}
	return in, nil
}

// Questionnaire returns one instrument version as a FHIR R4 Questionnaire.
func (s *Service) Questionnaire(id, version string) (fhir.Questionnaire, error) {
	in, err := s.Instrument(id, version)
	if err != nil {
		return fhir.Questionnaire{}, err
	}
	return fhir.ToQuestionnaire(in), nil
}

func responseSubmitted(r domain.Response) Announcement {
	payload := map[string]any{
		"response_id":        r.ID,
		"organisation_id":    r.OrganisationID,
		"site_id":            r.SiteID,
		"service_line":       r.ServiceLine,
		"instrument_id":      r.InstrumentID,
		"instrument_version": r.InstrumentVersion,
		"campaign_id":        r.CampaignID,
		"mode":               r.Mode,
		"respondent_role":    r.RespondentRole,
		"submitted_at":       r.SubmittedAt.Format(time.RFC3339Nano),
		"answers":            r.Answers,
	}
	key := r.ID
	if r.SubjectRef != "" {
		payload["subject_ref"] = r.SubjectRef
		key = r.SubjectRef // one subject's events stay in order
	}
	return Announcement{Topic: apispecs.TopicSurveyResponses, Key: key, Type: apispecs.TypeResponseSubmitted, Subject: key, Payload: payload}
}

// OrganisationRegistered is the part of identity's announcement survey keeps.
type OrganisationRegistered struct {
	OrganisationID string
	Sites          []domain.Site
}

// RecordOrganisation keeps the site registry in step with identity.
func (s *Service) RecordOrganisation(tx Tx, o OrganisationRegistered) error {
	for _, site := range o.Sites {
		site.OrganisationID = o.OrganisationID
		if err := tx.UpsertSite(site); err != nil {
			return err
		}
	}
	return nil
}
