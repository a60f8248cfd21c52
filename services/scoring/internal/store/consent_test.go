package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
)

const (
	respC    = "resp_01JD00000000000000000000CC"
	other    = "sub_zyxwvutsrqponmlkjihgfedcba"
	consentA = "cns_01JD0000000000000000000AAA"
	consentB = "cns_01JD0000000000000000000BBB"
)

var all = []string{"participation", "local-reporting", "national-benchmarking", "cross-service-linkage", "transition-sharing"}

// announced is one outbox message: type, key and the fields tests read.
type announced struct {
	Type, Key  string
	ResponseID string `json:"response_id"`
	Reason     string `json:"reason"`
	National   *bool  `json:"national"`
}

func (a announced) String() string {
	n := "-"
	if a.National != nil {
		n = fmt.Sprint(*a.National)
	}
	return fmt.Sprintf("%s %s key=%s reason=%s national=%s", a.Type, a.ResponseID, a.Key, a.Reason, n)
}

// since returns the messages announced after the first n, each checked
// against its schema.
func (f fixture) since(t *testing.T, n int) []announced {
	t.Helper()
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	var out []announced
	for _, m := range f.outbox(t)[n:] {
		if err := schemas.Validate(m.EventType, m.Data); err != nil {
			t.Fatalf("%s breaks its schema: %v", m.EventType, err)
		}
		a := announced{Type: m.EventType, Key: m.Key}
		_ = json.Unmarshal(m.Data, &a)
		out = append(out, a)
	}
	return out
}

func (f fixture) do(t *testing.T, fn func(tx app.Tx) error) {
	t.Helper()
	if err := f.st.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) consent(t *testing.T, id, subjectRef string, scopes ...string) {
	t.Helper()
	f.do(t, func(tx app.Tx) error {
		return f.app.ApplyConsentRecorded(tx, app.ConsentScopes{ConsentID: id, OrganisationID: "org_children_demo", SubjectRef: subjectRef, Scopes: scopes})
	})
}

func (f fixture) withdraw(t *testing.T, id, subjectRef string, scopes ...string) {
	t.Helper()
	f.do(t, func(tx app.Tx) error {
		return f.app.ApplyConsentWithdrawn(tx, app.ConsentScopes{ConsentID: id, OrganisationID: "org_children_demo", SubjectRef: subjectRef, Scopes: scopes})
	})
}

func expect(t *testing.T, step string, got []announced, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: announced %v, want %v", step, got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("%s: announced %v, want %v", step, got, want)
		}
	}
}

// Consent decides where a subject's scores count, and every change is told
// to read models in the same transaction: national-benchmarking withdrawn
// re-announces the score with national false; local-reporting withdrawn
// withdraws it (and hides it); a later score of the subject is kept back;
// a new consent with local-reporting brings both back.
func TestConsentDecidesWhereScoresCount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ana := app.Caller{Organisation: "org_children_demo"}
	f.consent(t, consentA, subject, all...)
	f.consent(t, consentB, other, all...)
	if err := f.score(t, submitted(respA, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	if err := f.score(t, submitted(respC, other, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	expect(t, "scored", f.since(t, 0),
		"org.poet.scoring.response-scored.v1 "+respA+" key="+respA+" reason= national=true",
		"org.poet.scoring.response-scored.v1 "+respC+" key="+respC+" reason= national=true")
	var ref string
	f.db.Table("scored_responses").Where("response_id = ?", respA).Pluck("subject_ref", &ref)
	if ref != subject {
		t.Fatalf("subject_ref kept %q", ref)
	}

	n := len(f.outbox(t))
	f.withdraw(t, consentA, subject, "national-benchmarking")
	expect(t, "national withdrawn", f.since(t, n), "org.poet.scoring.response-scored.v1 "+respA+" key="+respA+" reason= national=false")

	n = len(f.outbox(t))
	f.withdraw(t, consentA, subject, "local-reporting")
	expect(t, "local withdrawn", f.since(t, n), "org.poet.scoring.score-withdrawn.v1 "+respA+" key="+respA+" reason=consent-withdrawn national=-")
	if _, err := f.app.Score(ctx, ana, respA); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a withheld score is shown: %v", err)
	}
	if _, err := f.app.Score(ctx, ana, respC); err != nil {
		t.Fatalf("another subject's score: %v", err)
	}

	// A later response of the subject is scored and kept back.
	n = len(f.outbox(t))
	if err := f.score(t, submitted(respB, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	expect(t, "scored while withdrawn", f.since(t, n))
	if _, err := f.app.Score(ctx, ana, respB); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a score kept back is shown: %v", err)
	}
	// The same withdrawal again changes nothing.
	f.withdraw(t, consentA, subject, "local-reporting")
	expect(t, "repeat", f.since(t, n))

	// The person agrees again to local reports (not national).
	f.consent(t, "cns_01JD0000000000000000000NEW", subject, "participation", "local-reporting")
	expect(t, "agreed again", f.since(t, n),
		"org.poet.scoring.response-scored.v1 "+respA+" key="+respA+" reason= national=false",
		"org.poet.scoring.response-scored.v1 "+respB+" key="+respB+" reason= national=false")
	if s, err := f.app.Score(ctx, ana, respB); err != nil || !s.Reported || s.National {
		t.Fatalf("after agreeing again: %+v %v", s, err)
	}
}

// Erasure deletes the subject's scores, withdraws those read models count
// (keyed as their response-scored was, here by the person key), and
// forgets the subject's consents; another subject is untouched; a repeat
// (identity's subject-erased after consent's request) finds nothing.
func TestEraseSubject(t *testing.T) {
	f := newFixture(t)
	f.do(t, func(tx app.Tx) error {
		return f.app.RecordLink(tx, domain.Link{SubjectRef: subject, OrganisationID: "org_children_demo", PersonKey: person, EffectiveAt: time.Now()})
	})
	f.consent(t, consentA, subject, all...)
	f.consent(t, consentB, other, all...)
	for _, r := range []domain.Response{submitted(respA, subject, "1.0.0"), submitted(respB, subject, "1.0.0"), submitted(respC, other, "1.0.0")} {
		if err := f.score(t, r); err != nil {
			t.Fatal(err)
		}
	}
	n := len(f.outbox(t))
	// Another organisation naming the subject erases nothing.
	f.do(t, func(tx app.Tx) error { return f.app.EraseSubject(tx, "org_adult_demo", subject) })
	expect(t, "other organisation", f.since(t, n))

	f.do(t, func(tx app.Tx) error { return f.app.EraseSubject(tx, "org_children_demo", subject) })
	expect(t, "erased", f.since(t, n),
		"org.poet.scoring.score-withdrawn.v1 "+respA+" key="+person+" reason=erasure national=-",
		"org.poet.scoring.score-withdrawn.v1 "+respB+" key="+person+" reason=erasure national=-")
	var left, consents int64
	f.db.Table("scored_responses").Where("subject_ref = ?", subject).Count(&left)
	f.db.Table("subject_consents").Where("subject_ref = ?", subject).Count(&consents)
	if left != 0 || consents != 0 {
		t.Fatalf("after erasure: %d scores, %d consents of the subject", left, consents)
	}
	f.db.Table("scored_responses").Count(&left)
	if left != 1 {
		t.Fatalf("%d scores left, want the other subject's", left)
	}
	n = len(f.outbox(t))
	f.do(t, func(tx app.Tx) error { return f.app.EraseSubject(tx, "org_children_demo", subject) })
	expect(t, "repeat", f.since(t, n))
}

// Survey's withdrawal of a response deletes its score and withdraws it
// downstream with the reason; one never scored, or withheld, says nothing.
func TestWithdrawResponse(t *testing.T) {
	f := newFixture(t)
	if err := f.score(t, submitted(respA, "", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	f.consent(t, consentA, subject, "participation")
	if err := f.score(t, submitted(respB, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	n := len(f.outbox(t))
	for _, id := range []string{respA, respA, respB, respC} {
		f.do(t, func(tx app.Tx) error { return f.app.WithdrawResponse(tx, id, app.ReasonErasure) })
	}
	expect(t, "withdrawn", f.since(t, n), "org.poet.scoring.score-withdrawn.v1 "+respA+" key="+respA+" reason=erasure national=-")
	var left int64
	f.db.Table("scored_responses").Count(&left)
	if left != 0 {
		t.Fatalf("%d scores left", left)
	}
}

// A withdrawal from a consent scoring never saw grants nothing.
func TestWithdrawalOfAnUnseenConsent(t *testing.T) {
	f := newFixture(t)
	f.withdraw(t, consentA, subject, "national-benchmarking")
	n := len(f.outbox(t))
	if err := f.score(t, submitted(respA, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	expect(t, "scored", f.since(t, n))
}
