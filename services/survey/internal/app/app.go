// Package app holds the survey service's use cases: run campaigns at a site,
// take answers in every way they arrive (open links, single-use invitations
// with save and resume, practitioners' entry of paper and telephone returns,
// the short set embedded in a review, CSV files of paper returns, FHIR
// imports), count returns, and keep the site registry that identity
// announces. Every response, however it came, passes the same rule
// (prepare) and is stored and announced the same way (record), so nothing
// downstream can tell the routes apart except by the mode. Adapters (HTTP,
// store, events, identity client) call in here.
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
// rolls back together, announcements included. A unique key taken by a
// concurrent transaction surfaces as domain.ErrDuplicate.
type Tx interface {
	UpsertSite(domain.Site) error
	Site(id string) (domain.Site, error)
	CampaignByIdempotencyKey(org, key string) (domain.Campaign, error)
	InsertCampaign(c domain.Campaign, idempotencyKey string) error
	CampaignByLinkToken(token string) (domain.Campaign, error)
	Campaign(id string) (domain.Campaign, error)
	// Campaigns pages an organisation's campaigns by id, optionally only
	// one cohort's.
	Campaigns(org, cohort, after string, limit int) ([]domain.Campaign, error)
	ResponseByIdempotencyKey(campaignID, key string) (domain.Response, error)
	// ResponseKeys reports which of keys a campaign's responses hold.
	ResponseKeys(campaignID string, keys []string) (map[string]bool, error)
	InsertResponse(domain.Response) error
	InsertResponses(...domain.Response) error
	Response(id string) (domain.Response, error)
	InsertEntries(...domain.Entry) error
	// CountReturns adds n to the returns rollup of a campaign, UTC day
	// (YYYY-MM-DD) and mode, as part of the transaction (the store may
	// hold it back until just before the commit).
	CountReturns(campaignID, day, mode string, n int64) error
	ReturnCounts(campaignID string) ([]ReturnCount, error)
	InsertInvitations(...domain.Invitation) error
	InvitationByTokenHash(hash string) (domain.Invitation, error)
	InvitationsByIdempotencyKey(campaignID, key string) ([]domain.Invitation, error)
	// ReplaceInvitationToken swaps an unused invitation's token hash.
	ReplaceInvitationToken(id, newHash string) error
	// MarkInvitationUsed records the response an unused invitation gave;
	// domain.ErrInvitationUsed if another transaction got there first.
	MarkInvitationUsed(id, responseID string, at time.Time) error
	Draft(tokenHash string) (domain.Draft, error)
	SaveDraft(domain.Draft) error
	DeleteDraft(tokenHash string) error
	DeleteExpiredDrafts(now time.Time) error
	// InvitationDrafts counts the saved drafts of invitations.
	InvitationDrafts(invitationIDs []string) (int64, error)
	Announce(...Announcement) error
}

// ReturnCount is one cell of the returns rollup.
type ReturnCount struct {
	Day   string // UTC date, YYYY-MM-DD
	Mode  string
	Count int64
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is the signed-in member of staff (or service client).
type Caller struct {
	Organisation string
	Subject      string // the token's subject: who entered a response
	Roles        []string
	// Token is the caller's bearer token, forwarded to identity when a
	// use case registers a person on the caller's behalf.
	Token string
}

// ValidationError carries each failing field to the HTTP adapter.
type ValidationError struct {
	Detail string
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string { return e.Detail }

// DetailedError gives a domain error (ErrConflict, ErrExpired, …) a
// plain-English detail for the respondent or member of staff.
type DetailedError struct {
	Err    error
	Detail string
}

func (e *DetailedError) Error() string { return e.Detail }
func (e *DetailedError) Unwrap() error { return e.Err }

func invalid(detail, pointer, reason string) error {
	return &ValidationError{Detail: detail, Fields: []domain.FieldError{{Pointer: pointer, Reason: reason}}}
}

// Service is the survey application.
type Service struct {
	store       Store
	instruments map[string]domain.Instrument
	now         func() time.Time
	subjects    SubjectResolver
	links       linkCache
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

// SetSubjectResolver gives the service its way to identity (call before
// serving); without one, embedded responses answer identity-unavailable.
func (s *Service) SetSubjectResolver(r SubjectResolver) { s.subjects = r }

// do runs fn in a unit of work, once more if a concurrent transaction took a
// unique key first: the second run finds the winner's row (an idempotent
// retry, a used invitation) and answers from it.
func (s *Service) do(ctx context.Context, fn func(Tx) error) error {
	err := s.store.Do(ctx, fn)
	if errors.Is(err, domain.ErrDuplicate) {
		err = s.store.Do(ctx, fn)
	}
	return err
}

func (s *Service) instrument(c domain.Campaign) (domain.Instrument, error) {
	in, ok := s.instruments[c.InstrumentID+"@"+c.InstrumentVersion]
	if !ok {
		return domain.Instrument{}, fmt.Errorf("campaign %s names an instrument that is not loaded", c.ID)
	}
	return in, nil
}

// ownCampaign loads a campaign of the caller's organisation; another
// organisation's is reported as absent, so ids cannot be probed.
func ownCampaign(tx Tx, who Caller, id string) (domain.Campaign, error) {
	c, err := tx.Campaign(id)
	if err != nil {
		return domain.Campaign{}, err
	}
	if c.OrganisationID != who.Organisation {
		return domain.Campaign{}, domain.ErrNotFound
	}
	return c, nil
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
	// Cohort is an optional free label; Modes the allowed modes of
	// answering (all when empty).
	Cohort            string
	Modes             []string
	OpensAt, ClosesAt *time.Time
	IdempotencyKey    string
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
	modes, reason := domain.CheckModes(req.Modes)
	if reason != "" {
		fields = append(fields, domain.FieldError{Pointer: "/modes", Reason: reason})
	}
	cohort := strings.TrimSpace(req.Cohort)
	if reason := domain.CheckCohort(cohort); reason != "" {
		fields = append(fields, domain.FieldError{Pointer: "/cohort", Reason: reason})
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
			Cohort: cohort, Modes: modes, OpensAt: opens, ClosesAt: req.ClosesAt, OpenLinkToken: ids.Token(), CreatedAt: s.now().UTC(),
		}
		return tx.InsertCampaign(out, req.IdempotencyKey)
	})
	return out, err
}

// Campaigns pages through the caller's organisation's campaigns, only one
// cohort's when cohort is not empty.
func (s *Service) Campaigns(ctx context.Context, who Caller, cohort, after string, limit int) (list []domain.Campaign, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		list, err = tx.Campaigns(who.Organisation, strings.TrimSpace(cohort), after, limit+1)
		return err
	})
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, err
}

// Submission is one set of answers on its way in.
type Submission struct {
	LinkToken      string // open link: the campaign's link token
	Mode           string // online when empty
	Answers        map[string]any
	IdempotencyKey string
	// DraftToken is the open-link draft the submission completes; it is
	// deleted with the submission.
	DraftToken string
	// SubjectRef is set only by the embedded use case, from identity.
	SubjectRef string
	// EnteredBy is the staff subject who entered someone else's answers;
	// it goes to the entry audit table, never into the event.
	EnteredBy string
	// optimistic skips the idempotency lookup: the insert's unique key
	// catches a repeat, and the retry that follows looks it up.
	optimistic bool
}

// Idempotency keys live in one space per campaign, so keys that respondents
// choose are namespaced away from staff keys (and from paper form numbers).
const (
	linkKeyPrefix       = "link:"
	invitationKeyPrefix = "invitation:"
)

// Submit validates answers against the campaign's instrument, stores them and
// announces response-submitted in the same transaction. A retry with the same
// idempotency key returns the first receipt and stores nothing new. A
// submission naming a draft token clears that draft.
//
// It is the busiest path, so it saves round trips: the campaign comes from
// a short-lived cache, and a repeated idempotency key is caught by the
// insert's unique index (the retry then returns the first receipt) rather
// than looked up before every insert.
func (s *Service) Submit(ctx context.Context, sub Submission) (domain.Response, error) {
	if sub.IdempotencyKey != "" {
		sub.IdempotencyKey = linkKeyPrefix + sub.IdempotencyKey
		sub.optimistic = true
	}
	var out domain.Response
	err := s.do(ctx, func(tx Tx) error {
		c, err := s.campaignByLink(tx, sub.LinkToken)
		if err != nil {
			return err
		}
		var fresh bool
		out, fresh, err = s.accept(tx, c, sub, nil)
		sub.optimistic = false // a retry after a clash looks the key up
		if err != nil || !fresh || sub.DraftToken == "" {
			return err
		}
		d, err := tx.Draft(domain.HashToken(sub.DraftToken))
		switch {
		case errors.Is(err, domain.ErrNotFound):
			return nil // expired and swept, or never saved: nothing to clear
		case err != nil:
			return err
		case d.CampaignID != c.ID || d.InvitationID != "":
			return nil // not this campaign's open-link draft: leave it
		}
		return tx.DeleteDraft(d.TokenHash)
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
const DefaultImportMode = domain.ModePaper

// ImportResponse takes a QuestionnaireResponse into one of the caller's
// organisation's campaigns. It is read into answers and then goes through
// exactly the steps of Submit (idempotency, open dates, validation, store,
// announcement), so an imported response is indistinguishable downstream;
// who entered it is kept in the entry audit table. Another organisation's
// campaign is reported as absent.
func (s *Service) ImportResponse(ctx context.Context, who Caller, campaignID string, imp FHIRImport) (domain.Response, error) {
	var out domain.Response
	err := s.do(ctx, func(tx Tx) error {
		c, err := ownCampaign(tx, who, campaignID)
		if err != nil {
			return err
		}
		in, err := s.instrument(c)
		if err != nil {
			return err
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
		out, _, err = s.accept(tx, c, Submission{Mode: mode, Answers: read.Answers, IdempotencyKey: imp.IdempotencyKey, EnteredBy: who.Subject}, fields)
		return err
	})
	return out, err
}

// accept is the one path every single response takes into the store: a
// retry with the same idempotency key returns the first receipt (fresh is
// false); otherwise prepare checks it and record stores and announces it in
// tx. fields carries problems the caller found on the way in.
func (s *Service) accept(tx Tx, c domain.Campaign, sub Submission, fields []domain.FieldError) (r domain.Response, fresh bool, err error) {
	if sub.IdempotencyKey != "" && !sub.optimistic {
		prev, err := tx.ResponseByIdempotencyKey(c.ID, sub.IdempotencyKey)
		if err == nil {
			return prev, false, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return domain.Response{}, false, err
		}
	}
	r, err = s.prepare(c, sub, fields, s.now().UTC())
	if err != nil {
		return domain.Response{}, false, err
	}
	var entries []domain.Entry
	if sub.EnteredBy != "" {
		entries = append(entries, entryOf(r, sub.EnteredBy))
	}
	return r, true, record(tx, []domain.Response{r}, entries)
}

// prepare is the submission rule every response obeys, whichever way it
// came in: the campaign must be open at now and take the mode (online when
// unsaid), and the answers must be valid for the campaign's instrument. It
// returns the response to store, or a *ValidationError listing every
// problem (fields first), or domain.ErrCampaignShut.
func (s *Service) prepare(c domain.Campaign, sub Submission, fields []domain.FieldError, now time.Time) (domain.Response, error) {
	if !c.AcceptsAt(now) {
		return domain.Response{}, domain.ErrCampaignShut
	}
	in, err := s.instrument(c)
	if err != nil {
		return domain.Response{}, err
	}
	mode := sub.Mode
	if mode == "" {
		mode = domain.ModeOnline
	}
	switch {
	case !domain.ValidMode(mode):
		fields = append(fields, domain.FieldError{Pointer: "/mode", Reason: "Unknown mode of answering"})
	case !c.AllowsMode(mode):
		fields = append(fields, domain.FieldError{Pointer: "/mode", Reason: fmt.Sprintf("This campaign does not take %s answers; it takes %s", mode, strings.Join(c.Modes, ", "))})
	}
	fields = append(fields, in.ValidateAnswers(sub.Answers, now)...)
	if len(fields) > 0 {
		return domain.Response{}, &ValidationError{Detail: "Some answers need correcting", Fields: fields}
	}
	answers := domain.Normalise(sub.Answers)
	return domain.Response{
		ID: ids.New("resp"), CampaignID: c.ID, OrganisationID: c.OrganisationID, SiteID: c.SiteID,
		ServiceLine: c.ServiceLine, InstrumentID: c.InstrumentID, InstrumentVersion: c.InstrumentVersion,
		Mode: mode, RespondentRole: in.RespondentRoleOf(answers), SubjectRef: sub.SubjectRef, Answers: answers,
		SubmittedAt: now, IdempotencyKey: sub.IdempotencyKey,
	}, nil
}

// record stores prepared responses with their entry audit rows, counts
// them in the returns rollup and announces each, all in tx.
func record(tx Tx, rs []domain.Response, entries []domain.Entry) error {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) == 1 {
		if err := tx.InsertResponse(rs[0]); err != nil {
			return err
		}
	} else if err := tx.InsertResponses(rs...); err != nil {
		return err
	}
	if len(entries) > 0 {
		if err := tx.InsertEntries(entries...); err != nil {
			return err
		}
	}
	as := make([]Announcement, len(rs))
	for i, r := range rs {
		if err := tx.CountReturns(r.CampaignID, Day(r.SubmittedAt), r.Mode, 1); err != nil {
			return err
		}
		as[i] = responseSubmitted(r)
	}
	return tx.Announce(as...)
}

func entryOf(r domain.Response, by string) domain.Entry {
	return domain.Entry{ResponseID: r.ID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID,
		EnteredBy: by, EnteredAt: r.SubmittedAt, Mode: r.Mode}
}

// Day is the UTC date of t as the returns rollup keys it.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

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
