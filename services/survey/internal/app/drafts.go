package app

import (
	"context"
	"time"

	"poet.local/libs/platform/ids"
	"poet.local/services/survey/internal/domain"
)

// OpenDraftLifetime is how long an open-link draft is kept after it was
// last saved (never past the campaign's close): unfinished answers are
// personal data and are not kept for ever.
const OpenDraftLifetime = 30 * 24 * time.Hour

// SaveInvitationDraft keeps a respondent's unfinished answers under their
// invitation. Answers given must fit their questions' types; required
// questions may be blank. The draft goes when the response is submitted.
func (s *Service) SaveInvitationDraft(ctx context.Context, token string, answers map[string]any) (domain.Draft, error) {
	hash := domain.HashToken(token)
	var out domain.Draft
	err := s.store.Do(ctx, func(tx Tx) error {
		inv, c, in, err := s.usableInvitation(tx, hash)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if !c.AcceptsAt(now) {
			return domain.ErrCampaignShut
		}
		if errs := in.ValidateDraft(answers, now); len(errs) > 0 {
			return &ValidationError{Detail: "Some answers need correcting before they can be saved", Fields: errs}
		}
		out = domain.Draft{TokenHash: hash, CampaignID: c.ID, InvitationID: inv.ID, Answers: domain.Normalise(answers),
			SavedAt: &now, ExpiresAt: inv.ExpiresAt}
		return tx.SaveDraft(out)
	})
	return out, err
}

// InvitationDraft returns the answers saved under an invitation
// (domain.ErrNotFound when nothing was saved).
func (s *Service) InvitationDraft(ctx context.Context, token string) (domain.Draft, error) {
	hash := domain.HashToken(token)
	var out domain.Draft
	err := s.store.Do(ctx, func(tx Tx) error {
		if _, _, _, err := s.usableInvitation(tx, hash); err != nil {
			return err
		}
		var err error
		out, err = tx.Draft(hash)
		return err
	})
	return out, err
}

func (s *Service) usableInvitation(tx Tx, hash string) (domain.Invitation, domain.Campaign, domain.Instrument, error) {
	inv, err := tx.InvitationByTokenHash(hash)
	if err != nil {
		return inv, domain.Campaign{}, domain.Instrument{}, err
	}
	if err := inv.Usable(s.now().UTC()); err != nil {
		return inv, domain.Campaign{}, domain.Instrument{}, err
	}
	c, err := tx.Campaign(inv.CampaignID)
	if err != nil {
		return inv, c, domain.Instrument{}, err
	}
	in, err := s.instrument(c)
	return inv, c, in, err
}

// StartDraft gives an open-link respondent a draft token to save and resume
// with. The token is returned once; only its hash is kept. Expired drafts
// of every campaign are swept on the way.
func (s *Service) StartDraft(ctx context.Context, linkToken string) (token string, d domain.Draft, err error) {
	err = s.do(ctx, func(tx Tx) error {
		c, err := tx.CampaignByLinkToken(linkToken)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if !c.AcceptsAt(now) {
			return domain.ErrCampaignShut
		}
		if err := tx.DeleteExpiredDrafts(now); err != nil {
			return err
		}
		token = ids.Token()
		d = domain.Draft{TokenHash: domain.HashToken(token), CampaignID: c.ID, Answers: map[string]any{}, ExpiresAt: draftExpiry(c, now)}
		return tx.SaveDraft(d)
	})
	return token, d, err
}

// SaveLinkDraft keeps an open-link respondent's unfinished answers (checked
// as for SaveInvitationDraft) and extends the draft's life.
func (s *Service) SaveLinkDraft(ctx context.Context, linkToken, draftToken string, answers map[string]any) (domain.Draft, error) {
	var out domain.Draft
	err := s.store.Do(ctx, func(tx Tx) error {
		c, d, err := s.linkDraft(tx, linkToken, draftToken)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if !c.AcceptsAt(now) {
			return domain.ErrCampaignShut
		}
		in, err := s.instrument(c)
		if err != nil {
			return err
		}
		if errs := in.ValidateDraft(answers, now); len(errs) > 0 {
			return &ValidationError{Detail: "Some answers need correcting before they can be saved", Fields: errs}
		}
		d.Answers, d.SavedAt, d.ExpiresAt = domain.Normalise(answers), &now, draftExpiry(c, now)
		out = d
		return tx.SaveDraft(d)
	})
	return out, err
}

// LinkDraft returns an open-link respondent's saved answers.
func (s *Service) LinkDraft(ctx context.Context, linkToken, draftToken string) (domain.Draft, error) {
	var out domain.Draft
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		_, out, err = s.linkDraft(tx, linkToken, draftToken)
		return err
	})
	return out, err
}

func (s *Service) linkDraft(tx Tx, linkToken, draftToken string) (domain.Campaign, domain.Draft, error) {
	c, err := tx.CampaignByLinkToken(linkToken)
	if err != nil {
		return c, domain.Draft{}, err
	}
	d, err := tx.Draft(domain.HashToken(draftToken))
	if err != nil {
		return c, d, err
	}
	if d.CampaignID != c.ID || d.InvitationID != "" {
		return c, domain.Draft{}, domain.ErrNotFound // another campaign's: no probing
	}
	if d.Expired(s.now().UTC()) {
		return c, domain.Draft{}, domain.ErrExpired
	}
	return c, d, nil
}

func draftExpiry(c domain.Campaign, now time.Time) *time.Time {
	exp := now.Add(OpenDraftLifetime)
	if c.ClosesAt != nil && c.ClosesAt.Before(exp) {
		exp = *c.ClosesAt
	}
	return &exp
}
