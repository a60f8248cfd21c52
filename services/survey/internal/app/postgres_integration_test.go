//go:build integration

package app_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"poet.local/libs/testkit"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
)

// postgresEnv is setup on a PostgreSQL database made for the test (and
// dropped after it) on the server POET_TEST_POSTGRES_URL names.
func postgresEnv(t *testing.T) *env {
	t.Helper()
	return setupDSN(t, testkit.PostgresDSN(t, "poet_survey_test"))
}

// The races that SQLite's single connection serialises, on PostgreSQL's
// concurrent transactions: one invitation, many submissions; one
// idempotency key, many submissions; one file imported twice at once.
func TestPostgresRacesKeepOneResponseEach(t *testing.T) {
	e := postgresEnv(t)
	c := e.campaign(app.NewCampaign{})
	issued, err := e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{Batches: []app.InvitationBatch{{Count: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	inv := make([]error, 8)
	link := make([]domain.Response, 8)
	linkErr := make([]error, 8)
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, inv[i] = e.app.SubmitInvitation(e.ctx, issued[0].Token, app.Submission{Answers: answers(i)})
		}()
		go func() {
			defer wg.Done()
			link[i], linkErr[i] = e.app.Submit(e.ctx, app.Submission{LinkToken: c.OpenLinkToken, Answers: answers(i), IdempotencyKey: "same-key-for-all"})
		}()
	}
	wg.Wait()
	used := 0
	for i := range 8 {
		if inv[i] == nil {
			used++
		} else if !errors.Is(inv[i], domain.ErrInvitationUsed) {
			t.Fatalf("invitation race: %v", inv[i])
		}
		if linkErr[i] != nil || link[i].ID != link[0].ID {
			t.Fatalf("idempotency race: %+v %v, first %s", link[i], linkErr[i], link[0].ID)
		}
	}
	if used != 1 || e.count("responses") != 2 || len(e.outbox()) != 2 {
		t.Fatalf("%d invitation submissions won; %d responses stored", used, e.count("responses"))
	}

	var file strings.Builder
	file.WriteString(importHeader)
	for i := range 1200 {
		file.WriteString("P" + time.Duration(i).String() + ",paper,self,yes,yes,better,\n")
	}
	results := make([]app.ImportResult, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader(file.String()))
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent imports: %v %v", errs[0], errs[1])
	}
	if got := results[0].Accepted + results[1].Accepted; got != 1200 || results[0].Duplicates+results[1].Duplicates != 1200 {
		t.Fatalf("concurrent imports %+v %+v", results[0], results[1])
	}
	r, err := e.app.Returns(e.ctx, children, c.ID)
	if err != nil || r.Total != 1202 || e.count("responses") != 1202 {
		t.Fatalf("returns %+v %v; %d stored", r, err, e.count("responses"))
	}
}
