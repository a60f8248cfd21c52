package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/platform/ids"
	"poet.local/services/identity/internal/domain"
)

// Record is one subject's identifiers as a Matcher sees them. ID is the
// subject reference. Records exist only in memory inside identity.
type Record struct {
	ID, OrgID, LocalID string
	NHSNumber          string
	NHSVerified        bool
	GivenName          string
	FamilyName         string
	DOB                string // YYYY-MM-DD
	Sex                string
	Postcode           string
	// Eligible: the subject has cross-service-linkage consent in force.
	Eligible bool
}

// Band is a matcher's verdict on one pair.
type Band string

// Bands.
const (
	BandLink   Band = "link"
	BandReview Band = "review"
	BandNoLink Band = "no-link"
)

// Decision is a matcher's verdict on the candidate and one pool record (ID).
type Decision struct {
	ID           string
	Band         Band
	Score        float64
	Explanations []string // which fields agreed or disagreed; never values
}

// Matcher decides which records in pool are the same person as candidate.
// Pairs it leaves out are no-link. The probabilistic engine
// (internal/domain/linkage) plugs in here through a small adapter.
type Matcher interface {
	Match(candidate Record, pool []Record) []Decision
}

// DeterministicMatcher is the deterministic step of linkage: the same NHS
// number, verified on both sides, and the same date of birth is the same
// person (within or across organisations). The same NHS number with a
// different date of birth, or unverified on either side, goes to review:
// one of the two records is wrong, and a person must say which.
type DeterministicMatcher struct{}

// Match implements Matcher.
func (DeterministicMatcher) Match(c Record, pool []Record) []Decision {
	var out []Decision
	for _, p := range pool {
		if p.ID == c.ID || !p.Eligible || !c.Eligible || c.NHSNumber == "" || p.NHSNumber != c.NHSNumber {
			continue
		}
		switch {
		case c.NHSVerified && p.NHSVerified && c.DOB != "" && c.DOB == p.DOB:
			out = append(out, Decision{ID: p.ID, Band: BandLink, Score: 1,
				Explanations: []string{"verified NHS number agrees", "date of birth agrees"}})
		case c.DOB != p.DOB:
			out = append(out, Decision{ID: p.ID, Band: BandReview, Score: 0.5,
				Explanations: []string{"NHS number agrees", "date of birth disagrees or is missing"}})
		default:
			out = append(out, Decision{ID: p.ID, Band: BandReview, Score: 0.5,
				Explanations: []string{"NHS number agrees but is not verified on both records", "date of birth agrees"}})
		}
	}
	return out
}

// Reasons a subject is unlinked (subject-unlinked.v1).
const (
	reasonConsentWithdrawn = "consent-withdrawn"
	reasonConsentLapsed    = "consent-lapsed"
	reasonErasure          = "erasure"
	// No reason is given when corrected identifiers no longer support the link.
	reasonNone = ""
)

// eligible: not erased, and cross-service-linkage consent in force.
func (s *Service) eligible(tx Tx, sub domain.Subject) (bool, error) {
	if sub.Erased() {
		return false, nil
	}
	return tx.HasScope(sub.Ref, domain.ScopeCrossServiceLinkage, s.timestamp())
}

// record builds the matcher's view of a subject; ok is false when the
// subject has no vault entry (registered before the vault existed).
func (s *Service) record(tx Tx, sub domain.Subject, eligible bool) (Record, bool, error) {
	idf, err := s.open(tx, sub.Ref)
	if errors.Is(err, domain.ErrNotFound) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return Record{ID: sub.Ref, OrgID: sub.OrganisationID, LocalID: idf.LocalID, NHSNumber: idf.NHSNumber,
		NHSVerified: idf.NHSNumberVerified, GivenName: idf.GivenName, FamilyName: idf.FamilyName,
		DOB: idf.DateOfBirth, Sex: idf.Sex, Postcode: idf.Postcode, Eligible: eligible}, true, nil
}

// relink links an eligible subject to the person its matches belong to:
// a new person when none has one, else the one most of them share, merging
// the others into it. Every subject whose person changes is announced as
// subject-linked with the new person key, in this transaction. A subject
// without linkage consent is never linked. changed says the identifiers the
// link rests on changed: the subject's old person then no longer counts,
// and with no match left it is unlinked.
func (s *Service) relink(ctx context.Context, tx Tx, sub domain.Subject, changed bool) error {
	ok, err := s.eligible(tx, sub)
	if err != nil || !ok {
		return err
	}
	if err := tx.LockLinkage(); err != nil {
		return err
	}
	cand, ok, err := s.record(tx, sub, true)
	if err != nil || !ok {
		return err
	}
	// The pool: eligible subjects sharing the NHS number, and those an
	// operator approved pairing with this one.
	approved, err := tx.ReviewPartners(sub.Ref, domain.ReviewLink)
	if err != nil {
		return err
	}
	rejected, err := tx.ReviewPartners(sub.Ref, domain.ReviewNoLink)
	if err != nil {
		return err
	}
	bySubject := map[string]domain.Subject{}
	if sub.NHSDigest != "" {
		same, err := tx.SubjectsByNHSDigest(sub.NHSDigest)
		if err != nil {
			return err
		}
		for _, o := range same {
			bySubject[o.Ref] = o
		}
	}
	for _, ref := range approved {
		o, err := tx.Subject(ref, false)
		if err == nil {
			bySubject[ref] = o
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
	}
	delete(bySubject, sub.Ref)
	var pool []Record
	for _, o := range bySubject {
		if slices.Contains(rejected, o.Ref) {
			continue
		}
		ok, err := s.eligible(tx, o)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		r, found, err := s.record(tx, o, true)
		if err != nil {
			return err
		}
		if found {
			pool = append(pool, r)
		}
	}
	slices.SortFunc(pool, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })

	links := map[string]bool{}
	for _, d := range s.matcher.Match(cand, pool) {
		if _, inPool := bySubject[d.ID]; !inPool {
			continue // a matcher may only speak about the pool it was given
		}
		switch d.Band {
		case BandLink:
			links[d.ID] = true
		case BandReview:
			if _, _, err := s.recordReview(tx, ReviewCandidate{SubjectA: sub.Ref, SubjectB: d.ID, Score: d.Score, Explanations: d.Explanations}); err != nil {
				return err
			}
		}
	}
	for _, r := range pool {
		if slices.Contains(approved, r.ID) {
			links[r.ID] = true
		}
	}
	if len(links) == 0 {
		if changed && sub.PersonID != "" {
			return s.unlink(tx, sub, reasonNone)
		}
		return nil
	}

	persons := map[string]bool{}
	if sub.PersonID != "" && !changed {
		persons[sub.PersonID] = true
	}
	members := []domain.Subject{sub}
	for ref := range links {
		o := bySubject[ref]
		members = append(members, o)
		if o.PersonID != "" {
			persons[o.PersonID] = true
		}
	}
	target, err := s.choosePerson(tx, persons)
	if err != nil {
		return err
	}
	for p := range persons {
		if p == target {
			continue
		}
		merged, err := tx.PersonSubjects(p)
		if err != nil {
			return err
		}
		members = append(members, merged...)
	}
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.Ref] || m.PersonID == target {
			continue
		}
		seen[m.Ref] = true
		m.PersonID = target
		if err := tx.SaveSubject(m, false); err != nil {
			return err
		}
		if err := tx.Announce(s.subjectLinked(m)); err != nil {
			return err
		}
	}
	return nil
}

// choosePerson keeps the person with the most subjects (fewest
// announcements), ties to the smaller id; with none, a new person.
func (s *Service) choosePerson(tx Tx, persons map[string]bool) (string, error) {
	best, bestN := "", -1
	for p := range persons {
		subs, err := tx.PersonSubjects(p)
		if err != nil {
			return "", err
		}
		if len(subs) > bestN || (len(subs) == bestN && p < best) {
			best, bestN = p, len(subs)
		}
	}
	if best == "" {
		best = domain.NewPersonID()
	}
	return best, nil
}

// unlink detaches a subject from its person and announces subject-unlinked.
func (s *Service) unlink(tx Tx, sub domain.Subject, reason string) error {
	if sub.PersonID == "" {
		return nil
	}
	sub.PersonID = ""
	if err := tx.SaveSubject(sub, false); err != nil {
		return err
	}
	payload := map[string]any{
		"subject_ref":     sub.Ref,
		"organisation_id": sub.OrganisationID,
		"effective_at":    s.timestamp().Format(time.RFC3339Nano),
	}
	if reason != reasonNone {
		payload["reason"] = reason
	}
	return tx.Announce(Announcement{Topic: apispecs.TopicIdentityLinks, Key: sub.Ref, Type: apispecs.TypeSubjectUnlinked, Subject: sub.Ref, Payload: payload})
}

func (s *Service) subjectLinked(sub domain.Subject) Announcement {
	return Announcement{Topic: apispecs.TopicIdentityLinks, Key: sub.Ref, Type: apispecs.TypeSubjectLinked, Subject: sub.Ref,
		Payload: map[string]any{
			"subject_ref":     sub.Ref,
			"organisation_id": sub.OrganisationID,
			"person_key":      s.keys.Reporting.Key(sub.PersonID),
			"effective_at":    s.timestamp().Format(time.RFC3339Nano),
		}}
}

// ReviewCandidate is a pair a matcher put in the review band.
type ReviewCandidate struct {
	SubjectA, SubjectB string
	Score              float64
	Explanations       []string // which fields agreed; never identifier values
}

// RecordReview queues a pair for an operator's decision (the probabilistic
// engine's review band lands here). A pair already queued or decided is
// returned as it is (created false): a decision is never reopened.
func (s *Service) RecordReview(ctx context.Context, c ReviewCandidate) (domain.Review, bool, error) {
	var out domain.Review
	var created bool
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		out, created, err = s.recordReview(tx, c)
		return err
	})
	return out, created, err
}

func (s *Service) recordReview(tx Tx, c ReviewCandidate) (domain.Review, bool, error) {
	a, b := domain.OrderPair(c.SubjectA, c.SubjectB)
	if a == b {
		return domain.Review{}, false, &ValidationError{Detail: "A review pairs two different subjects"}
	}
	if r, err := tx.ReviewForPair(a, b); err == nil {
		return r, false, nil
	} else if !errors.Is(err, domain.ErrNotFound) {
		return domain.Review{}, false, err
	}
	sa, err := tx.Subject(a, false)
	if err != nil {
		return domain.Review{}, false, err
	}
	sb, err := tx.Subject(b, false)
	if err != nil {
		return domain.Review{}, false, err
	}
	if sa.Erased() || sb.Erased() {
		return domain.Review{}, false, domain.ErrErased
	}
	expl := c.Explanations
	if expl == nil {
		expl = []string{}
	}
	r := domain.Review{ID: ids.New("lrv"), SubjectA: a, SubjectB: b, OrganisationA: sa.OrganisationID, OrganisationB: sb.OrganisationID,
		Score: c.Score, Explanations: expl, CreatedAt: s.timestamp()}
	return r, true, tx.SaveReview(r, true)
}

// Reviews pages through the review queue by id; status is "pending",
// "decided" or "" for all.
func (s *Service) Reviews(ctx context.Context, status, after string, limit int) (list []domain.Review, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		list, err = tx.Reviews(status, after, limit+1)
		return err
	})
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, err
}

// DecideReview records an operator's decision on a pending review, audited.
// "link" links the pair now if both have linkage consent (or as soon as
// both have); "no-link" keeps the matcher from ever linking them directly.
func (s *Service) DecideReview(ctx context.Context, who Caller, id string, d domain.ReviewDecision) (domain.Review, error) {
	if d != domain.ReviewLink && d != domain.ReviewNoLink {
		return domain.Review{}, &ValidationError{Detail: "The decision could not be recorded", Fields: []domain.FieldError{{Pointer: "/decision", Reason: "Choose link or no-link"}}}
	}
	var out domain.Review
	err := s.store.Do(ctx, func(tx Tx) error {
		if err := tx.LockLinkage(); err != nil {
			return err
		}
		r, err := tx.Review(id, true)
		if err != nil {
			return err
		}
		if r.Decision != domain.ReviewPending {
			return domain.ErrAlreadyDecided
		}
		now := s.timestamp()
		r.Decision, r.DecidedAt, r.DecidedBy = d, &now, who.Organisation+"/"+who.Subject
		if err := tx.SaveReview(r, false); err != nil {
			return err
		}
		out = r
		if err := tx.Audit(s.audit(who, ActionReviewDecision, r.SubjectA, "linkage-review", string(d))); err != nil {
			return err
		}
		if err := tx.Audit(s.audit(who, ActionReviewDecision, r.SubjectB, "linkage-review", string(d))); err != nil {
			return err
		}
		if d != domain.ReviewLink {
			return nil
		}
		sub, err := tx.Subject(r.SubjectA, true)
		if err != nil {
			return err
		}
		return s.relink(ctx, tx, sub, false)
	})
	return out, err
}
