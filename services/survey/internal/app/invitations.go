package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"poet.local/libs/platform/ids"
	"poet.local/services/survey/internal/domain"
)

// MaxInvitationsPerRequest bounds one request, so one answer stays small.
const MaxInvitationsPerRequest = 1000

// ReissueWindow is how long after issuing a retry with the same
// Idempotency-Key may still reissue the tokens (see CreateInvitations).
const ReissueWindow = 24 * time.Hour

// InvitationBatch asks for Count invitations with one expiry (none: they
// last as long as the campaign).
type InvitationBatch struct {
	Count     int
	ExpiresAt *time.Time
}

// NewInvitations is what staff ask for: one batch, or a list of them (List
// set, so problems point at "/<index>/…").
type NewInvitations struct {
	Batches        []InvitationBatch
	List           bool
	IdempotencyKey string
}

// IssuedInvitation is an invitation with its token, which is shown only
// here: the store keeps the token's hash.
type IssuedInvitation struct {
	domain.Invitation
	Token string
}

// CreateInvitations issues single-use invitations to one of the caller's
// organisation's open campaigns. Only a hash of each token is stored, so a
// retry with the same Idempotency-Key cannot show the first tokens again:
// within ReissueWindow, while none of them has been used or has saved
// answers, it returns the same invitations with new tokens (the first
// tokens stop working) and creates nothing; after that it is refused as a
// conflict. A key reused for a different number of invitations is refused.
func (s *Service) CreateInvitations(ctx context.Context, who Caller, campaignID string, req NewInvitations) ([]IssuedInvitation, error) {
	now := s.now().UTC()
	var fields []domain.FieldError
	total := 0
	for i, b := range req.Batches {
		at := ""
		if req.List {
			at = fmt.Sprintf("/%d", i)
		}
		if b.Count < 1 || b.Count > MaxInvitationsPerRequest {
			fields = append(fields, domain.FieldError{Pointer: at + "/count", Reason: fmt.Sprintf("Ask for 1 to %d invitations", MaxInvitationsPerRequest)})
		}
		if b.ExpiresAt != nil && !b.ExpiresAt.After(now) {
			fields = append(fields, domain.FieldError{Pointer: at + "/expires_at", Reason: "The expiry must be in the future"})
		}
		total += b.Count
	}
	switch {
	case len(req.Batches) == 0:
		fields = append(fields, domain.FieldError{Pointer: "", Reason: "Ask for at least one invitation"})
	case len(fields) == 0 && total > MaxInvitationsPerRequest:
		fields = append(fields, domain.FieldError{Pointer: "", Reason: fmt.Sprintf("Ask for at most %d invitations in one request", MaxInvitationsPerRequest)})
	}
	if len(fields) > 0 {
		return nil, &ValidationError{Detail: "The invitations could not be issued", Fields: fields}
	}
	var out []IssuedInvitation
	err := s.do(ctx, func(tx Tx) error {
		out = nil
		c, err := ownCampaign(tx, who, campaignID)
		if err != nil {
			return err
		}
		if req.IdempotencyKey != "" {
			prev, err := tx.InvitationsByIdempotencyKey(c.ID, req.IdempotencyKey)
			if err != nil {
				return err
			}
			if len(prev) > 0 {
				out, err = reissue(tx, prev, total, now)
				return err
			}
		}
		if !c.AcceptsAt(now) {
			return domain.ErrCampaignShut
		}
		invs := make([]domain.Invitation, 0, total)
		for _, b := range req.Batches {
			for range b.Count {
				tok := ids.Token()
				inv := domain.Invitation{ID: ids.New("inv"), CampaignID: c.ID, OrganisationID: c.OrganisationID,
					TokenHash: domain.HashToken(tok), ExpiresAt: utc(b.ExpiresAt), IdempotencyKey: req.IdempotencyKey, CreatedAt: now}
				invs = append(invs, inv)
				out = append(out, IssuedInvitation{Invitation: inv, Token: tok})
			}
		}
		return tx.InsertInvitations(invs...)
	})
	return out, err
}

// reissue answers a retried request with the invitations it made, under new
// tokens, when that cannot hurt anyone holding the first tokens.
func reissue(tx Tx, prev []domain.Invitation, total int, now time.Time) ([]IssuedInvitation, error) {
	if len(prev) != total {
		return nil, &DetailedError{Err: domain.ErrConflict, Detail: "This Idempotency-Key was used for a different number of invitations"}
	}
	if now.Sub(prev[0].CreatedAt) > ReissueWindow {
		return nil, &DetailedError{Err: domain.ErrConflict, Detail: "These invitations were issued more than a day ago; their tokens were shown once and cannot be shown again"}
	}
	invIDs := make([]string, len(prev))
	for i, inv := range prev {
		if inv.UsedAt != nil {
			return nil, &DetailedError{Err: domain.ErrConflict, Detail: "One of these invitations has been used already, so their tokens cannot be reissued"}
		}
		invIDs[i] = inv.ID
	}
	n, err := tx.InvitationDrafts(invIDs)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, &DetailedError{Err: domain.ErrConflict, Detail: "A respondent has saved answers with one of these invitations, so their tokens cannot be reissued"}
	}
	out := make([]IssuedInvitation, len(prev))
	for i, inv := range prev {
		tok := ids.Token()
		inv.TokenHash = domain.HashToken(tok)
		if err := tx.ReplaceInvitationToken(inv.ID, inv.TokenHash); err != nil {
			return nil, err
		}
		out[i] = IssuedInvitation{Invitation: inv, Token: tok}
	}
	return out, nil
}

// Invitation statuses as a respondent sees them.
const (
	InvitationOpen    = "open"
	InvitationUsed    = "used"
	InvitationExpired = "expired"
	InvitationClosed  = "closed" // the campaign is not taking answers
)

// InvitationView is what a respondent's invitation link shows.
type InvitationView struct {
	Invitation domain.Invitation
	Campaign   domain.Campaign
	Status     string
	Draft      *domain.Draft // saved answers, when there are any
}

// Invitation looks an invitation up by its token for the respondent: which
// campaign and instrument, whether it can still be answered, and any saved
// answers.
func (s *Service) Invitation(ctx context.Context, token string) (InvitationView, error) {
	var v InvitationView
	now := s.now().UTC()
	err := s.store.Do(ctx, func(tx Tx) error {
		hash := domain.HashToken(token)
		inv, err := tx.InvitationByTokenHash(hash)
		if err != nil {
			return err
		}
		c, err := tx.Campaign(inv.CampaignID)
		if err != nil {
			return err
		}
		v = InvitationView{Invitation: inv, Campaign: c, Status: InvitationOpen}
		switch err := inv.Usable(now); {
		case errors.Is(err, domain.ErrInvitationUsed):
			v.Status = InvitationUsed
			return nil
		case errors.Is(err, domain.ErrExpired):
			v.Status = InvitationExpired
			return nil
		case !c.AcceptsAt(now):
			v.Status = InvitationClosed
		}
		d, err := tx.Draft(hash)
		if err == nil {
			v.Draft = &d
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		return nil
	})
	return v, err
}

// SubmitInvitation takes the one response an invitation allows, through the
// same rule as every response, marks the invitation used and clears its
// draft, all in one transaction. A used invitation is refused
// (domain.ErrInvitationUsed), as is an expired one (domain.ErrExpired),
// except that a retry with the same Idempotency-Key returns the first
// receipt.
func (s *Service) SubmitInvitation(ctx context.Context, token string, sub Submission) (domain.Response, error) {
	hash := domain.HashToken(token)
	key := sub.IdempotencyKey
	var out domain.Response
	err := s.do(ctx, func(tx Tx) error {
		inv, err := tx.InvitationByTokenHash(hash)
		if err != nil {
			return err
		}
		sub.IdempotencyKey = ""
		if key != "" {
			sub.IdempotencyKey = invitationKeyPrefix + inv.ID + ":" + key
			prev, err := tx.ResponseByIdempotencyKey(inv.CampaignID, sub.IdempotencyKey)
			if err == nil {
				out = prev
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		now := s.now().UTC()
		if err := inv.Usable(now); err != nil {
			return err
		}
		c, err := tx.Campaign(inv.CampaignID)
		if err != nil {
			return err
		}
		r, err := s.prepare(c, sub, nil, now)
		if err != nil {
			return err
		}
		// Claim the invitation before anything else is written: of two
		// racing submissions exactly one passes this line.
		if err := tx.MarkInvitationUsed(inv.ID, r.ID, now); err != nil {
			return err
		}
		if err := record(tx, []domain.Response{r}, nil); err != nil {
			return err
		}
		out = r
		return tx.DeleteDraft(hash)
	})
	return out, err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
