package app_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
)

func TestInvitationsAreSingleUseExpireAndKeepOnlyHashes(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	in1h := e.clock.Now().Add(time.Hour)
	issued, err := e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{Batches: []app.InvitationBatch{{Count: 2, ExpiresAt: &in1h}, {Count: 1}}, List: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 3 || issued[0].Token == issued[1].Token || len(issued[0].Token) != 43 || issued[2].ExpiresAt != nil {
		t.Fatalf("issued %+v", issued)
	}
	// Only hashes are stored: no token appears anywhere in the database files.
	var hashes []string
	if err := e.db.Table("invitations").Order("id").Pluck("token_hash", &hashes).Error; err != nil {
		t.Fatal(err)
	}
	for i, inv := range issued {
		if hashes[i] != domain.HashToken(inv.Token) {
			t.Fatalf("stored %s, want the token's SHA-256", hashes[i])
		}
	}
	assertNotInFiles(t, filepath.Dir(strings.TrimPrefix(e.dsn, "sqlite:")), issued[0].Token, issued[1].Token, issued[2].Token)

	first, err := e.app.SubmitInvitation(e.ctx, issued[0].Token, app.Submission{Answers: answers(0), IdempotencyKey: "retry-key-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Reuse is refused; a retry with the same key gets the first receipt.
	if _, err := e.app.SubmitInvitation(e.ctx, issued[0].Token, app.Submission{Answers: answers(1)}); !errors.Is(err, domain.ErrInvitationUsed) {
		t.Fatalf("reuse: %v", err)
	}
	again, err := e.app.SubmitInvitation(e.ctx, issued[0].Token, app.Submission{Answers: answers(0), IdempotencyKey: "retry-key-1"})
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry: %+v %v, want %s", again, err, first.ID)
	}
	v, err := e.app.Invitation(e.ctx, issued[0].Token)
	if err != nil || v.Status != app.InvitationUsed || v.Invitation.ResponseID != first.ID {
		t.Fatalf("used invitation view %+v %v", v, err)
	}

	e.clock.Add(time.Hour)
	if _, err := e.app.SubmitInvitation(e.ctx, issued[1].Token, app.Submission{Answers: answers(1)}); !errors.Is(err, domain.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if v, _ := e.app.Invitation(e.ctx, issued[1].Token); v.Status != app.InvitationExpired {
		t.Fatalf("expired view %+v", v)
	}
	// The one without an expiry lasts as long as the campaign.
	if _, err := e.app.SubmitInvitation(e.ctx, issued[2].Token, app.Submission{Answers: answers(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Invitation(e.ctx, strings.Repeat("x", 43)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if n := e.count("responses"); n != 2 {
		t.Fatalf("%d responses stored, want 2", n)
	}
	if n := len(e.outbox()); n != 2 {
		t.Fatalf("%d announcements, want 2", n)
	}
}

func TestOnlyOneOfRacingSubmissionsUsesAnInvitation(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	issued, err := e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{Batches: []app.InvitationBatch{{Count: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = e.app.SubmitInvitation(e.ctx, issued[0].Token, app.Submission{Answers: answers(i)})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, domain.ErrInvitationUsed):
			t.Fatalf("racing submission: %v", err)
		}
	}
	if ok != 1 || e.count("responses") != 1 {
		t.Fatalf("%d succeeded, %d stored; want exactly one", ok, e.count("responses"))
	}
}

func TestARetriedInvitationRequestReissuesTheSameInvitations(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	req := app.NewInvitations{Batches: []app.InvitationBatch{{Count: 2}}, IdempotencyKey: "mailing-2026-03"}
	first, err := e.app.CreateInvitations(e.ctx, children, c.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.app.CreateInvitations(e.ctx, children, c.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	if e.count("invitations") != 2 || second[0].ID != first[0].ID || second[1].ID != first[1].ID || second[0].Token == first[0].Token {
		t.Fatalf("retry made %+v from %+v", second, first)
	}
	// The first tokens stop working; the new ones work.
	if _, err := e.app.Invitation(e.ctx, first[0].Token); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("old token: %v", err)
	}
	if _, err := e.app.SaveInvitationDraft(e.ctx, second[0].Token, map[string]any{"knew-amount": "yes"}); err != nil {
		t.Fatal(err)
	}
	// Once a respondent has saved answers, tokens are not reissued.
	if _, err := e.app.CreateInvitations(e.ctx, children, c.ID, req); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("reissue after a draft: %v", err)
	}
	other := req
	other.Batches = []app.InvitationBatch{{Count: 3}}
	if _, err := e.app.CreateInvitations(e.ctx, children, c.ID, other); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("same key, other count: %v", err)
	}
	// Later than a day, never.
	req.IdempotencyKey = "mailing-2026-04"
	if _, err := e.app.CreateInvitations(e.ctx, children, c.ID, req); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour)
	if _, err := e.app.CreateInvitations(e.ctx, children, c.ID, req); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("reissue after a day: %v", err)
	}
}

func TestInvitationRequestsAreChecked(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	past := e.clock.Now().Add(-time.Minute)
	_, err := e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{List: true,
		Batches: []app.InvitationBatch{{Count: 0}, {Count: 5, ExpiresAt: &past}}})
	var ve *app.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Pointer != "/0/count" || ve.Fields[1].Pointer != "/1/expires_at" {
		t.Fatalf("%v", err)
	}
	_, err = e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{List: true,
		Batches: []app.InvitationBatch{{Count: 600}, {Count: 600}}})
	if !errors.As(err, &ve) {
		t.Fatalf("1,200 invitations: %v", err)
	}
	// Another organisation's campaign does not exist for them.
	if _, err := e.app.CreateInvitations(e.ctx, adult, c.ID, app.NewInvitations{Batches: []app.InvitationBatch{{Count: 1}}}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("adult organisation: %v", err)
	}
	if e.count("invitations") != 0 {
		t.Fatal("a refused request stored invitations")
	}
}

// assertNotInFiles fails if any file under dir contains one of secrets.
func assertNotInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no database files to search")
	}
	for _, ent := range entries {
		b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Fatalf("%s contains a secret it must not hold", ent.Name())
			}
		}
	}
}
