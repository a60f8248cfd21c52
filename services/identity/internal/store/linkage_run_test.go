package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"poet.local/apispecs"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/domain/linkage"
)

// ident is a hand-built record without an NHS number, as children's social
// care often holds them: only the probabilistic engine can link it.
func ident(local, given, family, dob, sex, postcode string) domain.Identifiers {
	return domain.Identifiers{LocalID: local, GivenName: given, FamilyName: family, DateOfBirth: dob, Sex: sex, Postcode: postcode}
}

// values are every identifier value of the synthetic set: none may appear in
// a decision, a review or an event.
var values = []string{"William", "Hartley", "Bill", "NB7 3HQ", "NB9 1TX", "Pemberton", "Gladenby", "Thornton", "2003-06-21",
	"2008-04-12", "2014-09-21", "1998-07-14", "LNK-", "Ramsbottom", "Fairclough"}

func TestBatchLinkage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	link := "cross-service-linkage"
	reg := func(who app.Caller, ids domain.Identifiers, consented bool) string {
		ref := e.register(t, who, ids)
		if consented {
			e.consent(t, who, ref, "cns_"+ids.LocalID, nil, link)
		}
		return ref
	}
	// A nickname and a move between two organisations.
	william := reg(childrenPat, ident("LNK-1", "William", "Hartley", "2003-06-21", "male", "NB7 3HQ"), true)
	bill := reg(adult, ident("LNK-2", "Bill", "Hartley", "2003-06-21", "male", "NB9 1TX"), true)
	// Twin-like: one household, one birthday, two given names.
	jack := reg(childrenPat, ident("LNK-3", "Jack", "Pemberton", "2008-04-12", "male", "NB6 5GH"), true)
	oscar := reg(health, ident("LNK-4", "Oscar", "Pemberton", "2008-04-12", "male", "NB6 5GH"), true)
	// Uncertain: the given name is missing where a twin could be meant.
	noah := reg(childrenPat, ident("LNK-5", "Noah", "Gladenby", "2014-09-21", "male", "NB4 1RP"), true)
	unnamed := reg(health, ident("LNK-6", "", "Gladenby", "2014-09-21", "male", "NB4 1RP"), true)
	// Identical records, but one has no linkage consent.
	emily := reg(childrenPat, ident("LNK-7", "Emily", "Thornton", "1998-07-14", "female", "NB4 2QT"), true)
	emilyNoConsent := reg(adult, ident("LNK-8", "Emily", "Thornton", "1998-07-14", "female", "NB4 2QT"), false)
	// Strangers.
	reg(childrenPat, ident("LNK-9", "Harry", "Smith", "2001-01-17", "male", "NB3 1AA"), true)
	reg(adult, ident("LNK-10", "Priya", "Ramsbottom", "1999-11-02", "female", "NB2 8LP"), true)
	reg(health, ident("LNK-11", "Keira", "Fairclough", "2006-03-05", "female", "NB11 4DE"), true)
	before := len(e.outbox(t))

	run, err := e.app.RunLinkage(ctx, app.TriggerSchedule, false)
	if err != nil {
		t.Fatal(err)
	}
	if run.Skipped || run.Subjects != 10 || run.Links != 1 || run.Reviews != 1 || run.Linked != 2 || run.Unlinked != 0 {
		t.Fatalf("run %+v: want 10 eligible subjects, 1 link, 1 review, 2 subjects linked", run)
	}
	// The nickname pair is one person, announced with one person key.
	w, b := e.subject(t, william), e.subject(t, bill)
	if w.PersonID == "" || w.PersonID != b.PersonID {
		t.Fatalf("nickname pair not linked: %q %q", w.PersonID, b.PersonID)
	}
	msgs := e.since(t, before)
	if len(msgs) != 2 {
		t.Fatalf("announcements %+v, want two subject-linked", msgs)
	}
	keys := map[string]string{}
	for _, m := range msgs {
		if m.Type != apispecs.TypeSubjectLinked {
			t.Fatalf("announced %s", m.Type)
		}
		keys[m.Key], _ = m.Payload["person_key"].(string)
	}
	if keys[william] == "" || keys[william] != keys[bill] {
		t.Fatalf("person keys %v", keys)
	}
	for _, ref := range []string{jack, oscar, noah, unnamed, emily, emilyNoConsent} {
		if p := e.subject(t, ref).PersonID; p != "" {
			t.Errorf("%s linked to %s", ref, p)
		}
	}

	// Decisions: the link and the review, explained without identifiers.
	decisions, err := e.st.LinkageDecisions(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]app.LinkageDecision{}
	for _, d := range decisions {
		got[[2]string{d.SubjectA, d.SubjectB}] = d
		for _, ref := range []string{emilyNoConsent, jack, oscar} {
			if d.SubjectA == ref || d.SubjectB == ref {
				t.Errorf("a decision names %s: %+v", ref, d)
			}
		}
		assertNoValues(t, "decision", string(d.Explanation))
	}
	a, c := domain.OrderPair(william, bill)
	d, ok := got[[2]string{a, c}]
	var expl linkage.Explanation
	if !ok || d.Band != "link" || d.Rule != "probabilistic" || json.Unmarshal(d.Explanation, &expl) != nil ||
		expl.Fields[0].Outcome != "nickname or same first forename" || expl.Fields[0].Weight <= 0 {
		t.Fatalf("nickname decision %+v (%+v)", d, expl)
	}
	a, c = domain.OrderPair(noah, unnamed)
	if d := got[[2]string{a, c}]; d.Band != "review" || d.Weight <= 0 {
		t.Fatalf("uncertain pair decision %+v", d)
	}
	if len(decisions) != 2 {
		t.Fatalf("decisions %+v, want the link and the review", decisions)
	}
	reviews, _, err := e.app.Reviews(ctx, "pending", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 1 || reviews[0].SubjectA != a || reviews[0].SubjectB != c || reviews[0].Score < 0.5 {
		t.Fatalf("review queue %+v", reviews)
	}
	lines := strings.Join(reviews[0].Explanations, "\n")
	if !strings.Contains(lines, "given name: missing") || !strings.Contains(lines, "family name: exact") || !strings.Contains(lines, "bits") {
		t.Fatalf("review explanations %q", lines)
	}
	assertNoValues(t, "review", lines)
	for _, m := range e.since(t, before) {
		raw, _ := json.Marshal(m.Payload)
		assertNoValues(t, "event", string(raw))
	}

	// Nothing changed: the next scheduled run does nothing.
	n := len(e.outbox(t))
	if again, err := e.app.RunLinkage(ctx, app.TriggerSchedule, false); err != nil || !again.Skipped {
		t.Fatalf("unchanged rerun: %+v %v", again, err)
	}
	// Forced, it links the same way and announces nothing new.
	forced, err := e.app.RunLinkage(ctx, "operator:test", true)
	if err != nil || forced.Skipped || forced.Links != 1 || forced.Linked != 0 || forced.Unlinked != 0 || len(e.outbox(t)) != n {
		t.Fatalf("forced rerun %+v %v (outbox %d → %d)", forced, err, n, len(e.outbox(t)))
	}

	// An operator links the uncertain pair; the batch keeps that link.
	if _, err := e.app.DecideReview(ctx, operator, reviews[0].ID, domain.ReviewLink); err != nil {
		t.Fatal(err)
	}
	if p := e.subject(t, noah).PersonID; p == "" || p != e.subject(t, unnamed).PersonID {
		t.Fatal("operator's link not applied")
	}
	after, err := e.app.RunLinkage(ctx, app.TriggerSchedule, false)
	if err != nil || after.Skipped || after.Links != 2 || after.Linked != 0 || after.Unlinked != 0 {
		t.Fatalf("run after the operator's link %+v %v", after, err)
	}

	// Bill's organisation corrects his record: he is someone else. The
	// deterministic path unlinks him at once; the batch finds William's
	// cluster split and unlinks him too.
	n = len(e.outbox(t))
	e.register(t, adult, ident("LNK-2", "Gregory", "Hartley", "1971-02-09", "male", "NB9 1TX"))
	split, err := e.app.RunLinkage(ctx, app.TriggerSchedule, false)
	if err != nil || split.Unlinked != 1 || split.Linked != 0 {
		t.Fatalf("split run %+v %v", split, err)
	}
	if e.subject(t, william).PersonID != "" || e.subject(t, bill).PersonID != "" {
		t.Fatal("split cluster still linked")
	}
	var unlinked []string
	for _, m := range e.since(t, n) {
		if m.Type == apispecs.TypeSubjectUnlinked {
			unlinked = append(unlinked, m.Key)
		}
	}
	if len(unlinked) != 2 || !strings.Contains(strings.Join(unlinked, " "), william) || !strings.Contains(strings.Join(unlinked, " "), bill) {
		t.Fatalf("unlinked %v, want William's and Bill's subjects", unlinked)
	}

	// Consent given late: the subject without consent links at the next run.
	e.consent(t, adult, emilyNoConsent, "cns_late", nil, link)
	late, err := e.app.RunLinkage(ctx, app.TriggerSchedule, false)
	if err != nil || late.Linked != 2 {
		t.Fatalf("run after consent %+v %v", late, err)
	}
	if p := e.subject(t, emily).PersonID; p == "" || p != e.subject(t, emilyNoConsent).PersonID {
		t.Fatal("consenting pair not linked")
	}

	// Erasure forgets the subject's decisions.
	err = e.st.Do(ctx, func(tx app.Tx) error {
		return e.app.ApplyErasure(ctx, tx, app.ErasureRequested{OrganisationID: adult.Organisation, SubjectRef: emilyNoConsent})
	})
	if err != nil {
		t.Fatal(err)
	}
	decisions, err = e.st.LinkageDecisions(ctx, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range decisions {
		if d.SubjectA == emilyNoConsent || d.SubjectB == emilyNoConsent {
			t.Fatalf("erased subject's decision kept: %+v", d)
		}
	}
}

func assertNoValues(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(s, v) {
			t.Errorf("%s holds the identifier %q: %s", what, v, s)
		}
	}
}

// Survey's embedded responses register a local id alone: that must find the
// subject without wiping its identifiers or its link.
func TestLocalIDAloneKeepsIdentifiersAndLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	e.consent(t, childrenPat, a, "cns_a", nil, "cross-service-linkage")
	e.consent(t, adult, b, "cns_b", nil, "cross-service-linkage")
	linked := e.subject(t, a).PersonID
	if linked == "" || linked != e.subject(t, b).PersonID {
		t.Fatal("verified NHS number pair not linked")
	}
	n := len(e.outbox(t))
	if ref := e.register(t, adult, domain.Identifiers{LocalID: " AD-1 "}); ref != b {
		t.Fatalf("local id alone gave %s, want %s", ref, b)
	}
	ids, err := e.app.Identifiers(ctx, b)
	if err != nil || ids.NHSNumber != "9434765919" || ids.GivenName != "Quillfeather" {
		t.Fatalf("identifiers after a local-id-only registration: %v", err)
	}
	if e.subject(t, b).PersonID != linked || len(e.outbox(t)) != n {
		t.Fatal("a local-id-only registration changed the link")
	}
	// A new local id alone is still a new subject.
	if ref := e.register(t, adult, domain.Identifiers{LocalID: "AD-2"}); ref == b {
		t.Fatal("a new local id reused a reference")
	}
}
