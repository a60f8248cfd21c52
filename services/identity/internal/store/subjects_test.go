package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/storage"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/vault"
)

var (
	childrenPat = app.Caller{Organisation: "org_children_demo", Subject: "pat"}
	adult       = app.Caller{Organisation: "org_adult_demo", Subject: "pat"}
	health      = app.Caller{Organisation: "org_health_demo", Subject: "pat"}
	service     = app.Caller{Organisation: "org_national_demo", Subject: "poet-service", Roles: []string{"service"}}
)

// person is one young person as three organisations record them.
func person(local string) domain.Identifiers {
	return domain.Identifiers{LocalID: local, NHSNumber: "943 476 5919", NHSNumberVerified: true, GivenName: "Quillfeather",
		FamilyName: "Zanzibar", DateOfBirth: "2007-11-23", Sex: "female", Postcode: "ZZ99 3CZ"}
}

func (e *env) register(t *testing.T, who app.Caller, ids domain.Identifiers) string {
	t.Helper()
	ref, err := e.app.RegisterSubject(context.Background(), who, ids)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// consent applies a consent-recorded decision as the consumer does, in one
// transaction.
func (e *env) consent(t *testing.T, who app.Caller, ref, consentID string, lapses *time.Time, scopes ...string) {
	t.Helper()
	ctx := context.Background()
	err := e.st.Do(ctx, func(tx app.Tx) error {
		return e.app.ApplyConsentRecorded(ctx, tx, app.ConsentRecorded{ConsentID: consentID, OrganisationID: who.Organisation, SubjectRef: ref, Scopes: scopes, LapsesAt: lapses})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) withdraw(t *testing.T, who app.Caller, ref, consentID string, scopes ...string) {
	t.Helper()
	ctx := context.Background()
	err := e.st.Do(ctx, func(tx app.Tx) error {
		return e.app.ApplyConsentWithdrawn(ctx, tx, app.ConsentWithdrawn{ConsentID: consentID, OrganisationID: who.Organisation, SubjectRef: ref, Scopes: scopes})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) subject(t *testing.T, ref string) domain.Subject {
	t.Helper()
	var s domain.Subject
	if err := e.st.Do(context.Background(), func(tx app.Tx) error {
		var err error
		s, err = tx.Subject(ref, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

type announced struct {
	Type    string
	Key     string
	Payload map[string]any
}

// since returns the outbox messages after the first n.
func (e *env) since(t *testing.T, n int) []announced {
	t.Helper()
	var out []announced
	for _, m := range e.outbox(t)[n:] {
		var p map[string]any
		if err := json.Unmarshal(m.Data, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, announced{Type: m.EventType, Key: m.Key, Payload: p})
	}
	return out
}

func TestRegisterKeepsIdentifiersOnlyInTheVault(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ref := e.register(t, childrenPat, person("NB-1"))
	again := person(" NB-1 ")
	again.Postcode = "m1 1ae"
	if r2 := e.register(t, childrenPat, again); r2 != ref {
		t.Fatalf("re-registration gave %s, want %s", r2, ref)
	}
	ids, err := e.app.Identifiers(ctx, ref)
	if err != nil || ids.Postcode != "M1 1AE" || ids.NHSNumber != "9434765919" || ids.LocalID != "NB-1" {
		t.Fatalf("vault holds %+v (%v); want the updated, normalised identifiers", ids, err)
	}
	var rows []struct {
		KEKVersion int `gorm:"column:kek_version"`
		Ciphertext []byte
	}
	e.db.Table("vault_entries").Find(&rows)
	if len(rows) != 1 || rows[0].KEKVersion != 1 || bytes.Contains(rows[0].Ciphertext, []byte("Quillfeather")) {
		t.Fatalf("vault rows %+v", rows)
	}
	s := e.subject(t, ref)
	if s.NHSDigest != e.keys.Index.NHSNumber("9434765919") || s.LocalDigest != e.keys.Index.LocalID("org_children_demo", "NB-1") || s.KeyVersion != 1 {
		t.Fatalf("subject %+v: want the blind indexes of the normalised values", s)
	}
	if n, _ := e.st.SubjectCount(ctx, "org_children_demo"); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	if n := len(e.outbox(t)); n != 0 {
		t.Fatalf("registration announced %d events", n)
	}

	bad := person("NB-2")
	bad.NHSNumber = "9434765918"
	_, err = e.app.RegisterSubject(ctx, childrenPat, bad)
	var ve *app.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Pointer != "/nhs_number" {
		t.Fatalf("invalid NHS number: %v", err)
	}
	if n, _ := e.st.SubjectCount(ctx, "org_children_demo"); n != 1 {
		t.Fatal("a refused registration stored a subject")
	}
}

// A new subject key version makes new references; a subject made with an
// older version (or before the vault, without a blind index) keeps its
// reference.
func TestSubjectKeyVersionsKeepReferencesStable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.register(t, childrenPat, person("NB-1"))
	// A reference made before the vault existed: a row with no digests.
	legacy, _ := e.keys.Subjects.Ref(1, "org_children_demo", "OLD-1")
	if err := e.db.Exec("INSERT INTO subject_refs (subject_ref, organisation_id) VALUES (?, ?)", legacy, "org_children_demo").Error; err != nil {
		t.Fatal(err)
	}
	e.db.Exec("UPDATE subject_counts SET subjects = subjects + 1 WHERE organisation_id = ?", "org_children_demo")

	keys := testKeys(t, map[int][]byte{1: []byte("0123456789abcdef0123456789abcdef"), 2: bytes.Repeat([]byte{'v'}, 32)}, map[int][]byte{1: bytes.Repeat([]byte{1}, 32)})
	keys.Index, keys.Reporting = e.keys.Index, e.keys.Reporting
	e.app = e.newApp(keys, nil)
	if got := e.register(t, childrenPat, person("NB-1")); got != first {
		t.Fatalf("after adding key version 2, NB-1 is %s, was %s", got, first)
	}
	if got := e.register(t, childrenPat, person("OLD-1")); got != legacy {
		t.Fatalf("legacy subject got %s, want %s", got, legacy)
	}
	fresh := e.register(t, childrenPat, person("NB-9"))
	v1, _ := keys.Subjects.Ref(1, "org_children_demo", "NB-9")
	v2, _ := keys.Subjects.Ref(2, "org_children_demo", "NB-9")
	if fresh != v2 || fresh == v1 || e.subject(t, fresh).KeyVersion != 2 || e.subject(t, first).KeyVersion != 1 {
		t.Fatalf("new subject %s: want version 2's reference %s", fresh, v2)
	}
	if n, _ := e.st.SubjectCount(ctx, "org_children_demo"); n != 3 {
		t.Fatalf("count %d, want 3 (re-registrations are not new subjects)", n)
	}
}

func TestKEKRotationRewrapsEveryEntry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	refs := []string{e.register(t, childrenPat, person("NB-1")), e.register(t, adult, person("AD-1"))}
	ops := app.Caller{Organisation: "org_national_demo", Subject: "ops"}

	oldKEK, newKEK := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	withKEKs := func(m map[int][]byte) *app.Service {
		k := e.keys
		cur := 0
		for v := range m {
			cur = max(cur, v)
		}
		var err error
		if k.Vault, err = vault.NewKEKs(m, cur); err != nil {
			t.Fatal(err)
		}
		return e.newApp(k, nil)
	}
	both := withKEKs(map[int][]byte{1: oldKEK, 2: newKEK})
	res, err := both.RotateKEK(ctx, ops)
	if err != nil || res.KEKVersion != 2 || res.Rewrapped != 2 || res.Entries[2] != 2 || res.Entries[1] != 0 {
		t.Fatalf("rotation %+v %v", res, err)
	}
	if res, _ := both.RotateKEK(ctx, ops); res.Rewrapped != 0 {
		t.Fatalf("second rotation re-wrapped %d", res.Rewrapped)
	}
	onlyNew := withKEKs(map[int][]byte{2: newKEK})
	if _, err := onlyNew.CheckVault(ctx); err != nil {
		t.Fatalf("after rotation the old KEK is not needed: %v", err)
	}
	for _, ref := range refs {
		if ids, err := onlyNew.Identifiers(ctx, ref); err != nil || ids.GivenName != "Quillfeather" {
			t.Fatalf("open with the new KEK alone: %+v %v", ids, err)
		}
	}
	onlyOld := withKEKs(map[int][]byte{1: oldKEK})
	if _, err := onlyOld.CheckVault(ctx); !errors.Is(err, vault.ErrUnknownKEK) {
		t.Fatalf("entries under version 2 with only version 1 configured: %v", err)
	}
	log, _ := e.st.AuditLog(ctx)
	if len(log) != 2 || log[0].Action != app.ActionKEKRotation || log[0].Actor != "ops" {
		t.Fatalf("audit %+v", log)
	}
}

// The deterministic rule across organisations, and consent as the gate.
func TestLinkageFollowsConsent(t *testing.T) {
	e := newEnv(t)
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	c := e.register(t, health, person("HE-1"))

	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "participation", "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "participation", "local-reporting")
	if got := e.since(t, 0); len(got) != 0 || e.subject(t, a).PersonID != "" {
		t.Fatalf("linked with only one side consenting: %+v", got)
	}
	e.consent(t, adult, b, "cns_B000000000002", nil, "cross-service-linkage")
	got := e.since(t, 0)
	if len(got) != 2 || got[0].Type != apispecs.TypeSubjectLinked || got[1].Type != apispecs.TypeSubjectLinked {
		t.Fatalf("announcements %+v, want subject-linked for both", got)
	}
	pa, pb := e.subject(t, a).PersonID, e.subject(t, b).PersonID
	key := e.keys.Reporting.Key(pa)
	for _, ev := range got {
		if ev.Payload["person_key"] != key || (ev.Key != a && ev.Key != b) || ev.Payload["subject_ref"] != ev.Key {
			t.Fatalf("announcement %+v, want person key %s keyed by subject", ev, key)
		}
	}
	if pa == "" || pa != pb || len(pa) != 30 {
		t.Fatalf("persons %q %q", pa, pb)
	}
	// The health subject matches but has no linkage consent: never linked,
	// whatever else happens.
	e.consent(t, health, c, "cns_C000000000001", nil, "participation", "local-reporting", "transition-sharing")
	e.register(t, health, person("HE-1"))
	if e.subject(t, c).PersonID != "" || len(e.since(t, 2)) != 0 {
		t.Fatal("a subject without linkage consent was linked")
	}
	// Consent again (a redelivery, or a second consent) announces nothing new.
	e.consent(t, adult, b, "cns_B000000000002", nil, "cross-service-linkage")
	if n := len(e.since(t, 2)); n != 0 {
		t.Fatalf("repeat consent announced %d", n)
	}
	// Now the health subject consents: it joins the person, and only it is announced.
	e.consent(t, health, c, "cns_C000000000002", nil, "cross-service-linkage")
	if got := e.since(t, 2); len(got) != 1 || got[0].Key != c || got[0].Payload["person_key"] != key {
		t.Fatalf("third subject: %+v", got)
	}
}

func TestUnverifiedOrConflictingNumbersGoToReview(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	other := person("AD-1")
	other.DateOfBirth = "2007-11-24"
	b := e.register(t, adult, other)
	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	if e.subject(t, a).PersonID != "" {
		t.Fatal("different dates of birth linked deterministically")
	}
	list, _, err := e.app.Reviews(ctx, "pending", "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("review queue %+v %v", list, err)
	}
	r := list[0]
	x, y := domain.OrderPair(a, b)
	if r.SubjectA != x || r.SubjectB != y || r.Decision != domain.ReviewPending || len(r.Explanations) == 0 {
		t.Fatalf("review %+v", r)
	}
	raw, _ := json.Marshal(r)
	if bytes.Contains(raw, []byte("2007-11")) || bytes.Contains(raw, []byte("9434765919")) {
		t.Fatalf("the review holds an identifier: %s", raw)
	}
	// Matching again does not queue the pair twice.
	e.register(t, adult, other)
	if list, _, _ := e.app.Reviews(ctx, "", "", 10); len(list) != 1 {
		t.Fatalf("queue has %d", len(list))
	}
	ops := app.Caller{Organisation: "org_national_demo", Subject: "ops"}
	n := len(e.outbox(t))
	decided, err := e.app.DecideReview(ctx, ops, r.ID, domain.ReviewLink)
	if err != nil || decided.Decision != domain.ReviewLink || decided.DecidedBy != "org_national_demo/ops" || decided.DecidedAt == nil {
		t.Fatalf("decide %+v %v", decided, err)
	}
	if got := e.since(t, n); len(got) != 2 || e.subject(t, a).PersonID == "" || e.subject(t, a).PersonID != e.subject(t, b).PersonID {
		t.Fatalf("after approval: %+v", got)
	}
	if _, err := e.app.DecideReview(ctx, ops, r.ID, domain.ReviewNoLink); !errors.Is(err, domain.ErrAlreadyDecided) {
		t.Fatalf("second decision: %v", err)
	}
	if _, err := e.app.DecideReview(ctx, ops, "lrv_missing", domain.ReviewLink); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown review: %v", err)
	}
	if list, _, _ := e.app.Reviews(ctx, "pending", "", 10); len(list) != 0 {
		t.Fatalf("pending after decision: %d", len(list))
	}
}

// A rejected pair is never linked directly, even by the deterministic rule.
func TestRejectedPairStaysApart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	r, created, err := e.app.RecordReview(ctx, app.ReviewCandidate{SubjectA: b, SubjectB: a, Score: 3.2, Explanations: []string{"given name agrees"}})
	if err != nil || !created {
		t.Fatal(err)
	}
	if _, err := e.app.DecideReview(ctx, app.Caller{Organisation: "org_national_demo", Subject: "ops"}, r.ID, domain.ReviewNoLink); err != nil {
		t.Fatal(err)
	}
	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	if e.subject(t, a).PersonID != "" || e.subject(t, b).PersonID != "" {
		t.Fatal("a pair an operator rejected was linked")
	}
}

// Two persons joined by an approved review become one; only the subjects
// that change person are announced.
func TestApprovedReviewMergesPersons(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	second := func(local string) domain.Identifiers {
		p := person(local)
		p.NHSNumber = "4010232137"
		return p
	}
	a, b := e.register(t, childrenPat, person("NB-1")), e.register(t, adult, person("AD-1"))
	c, d := e.register(t, childrenPat, second("NB-2")), e.register(t, health, second("HE-2"))
	for i, ref := range []string{a, b, c, d} {
		who := map[string]app.Caller{a: childrenPat, b: adult, c: childrenPat, d: health}[ref]
		e.consent(t, who, ref, "cns_X00000000000"+string(rune('1'+i)), nil, "cross-service-linkage")
	}
	p1, p2 := e.subject(t, a).PersonID, e.subject(t, c).PersonID
	if p1 == "" || p2 == "" || p1 == p2 || e.subject(t, b).PersonID != p1 || e.subject(t, d).PersonID != p2 {
		t.Fatalf("two persons expected: %s %s", p1, p2)
	}
	r, _, err := e.app.RecordReview(ctx, app.ReviewCandidate{SubjectA: b, SubjectB: c, Score: 5, Explanations: []string{"names and date of birth agree"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.outbox(t))
	if _, err := e.app.DecideReview(ctx, app.Caller{Organisation: "org_national_demo", Subject: "ops"}, r.ID, domain.ReviewLink); err != nil {
		t.Fatal(err)
	}
	target := min(p1, p2) // equal sizes: the smaller id stays
	moved := map[string]bool{}
	for _, ev := range e.since(t, n) {
		moved[ev.Key] = true
		if ev.Payload["person_key"] != e.keys.Reporting.Key(target) {
			t.Fatalf("moved to another key: %+v", ev)
		}
	}
	for _, ref := range []string{a, b, c, d} {
		if e.subject(t, ref).PersonID != target {
			t.Fatalf("%s not merged", ref)
		}
	}
	if len(moved) != 2 || (target == p1 && (!moved[c] || !moved[d])) || (target == p2 && (!moved[a] || !moved[b])) {
		t.Fatalf("announced %v; want exactly the two subjects that changed person", moved)
	}
}

// Withdrawal unlinks and announces in the consumer's transaction: if that
// transaction fails, neither happens.
func TestWithdrawalUnlinksInTheSameTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "cross-service-linkage", "local-reporting")
	e.consent(t, childrenPat, a, "cns_A000000000002", nil, "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	n := len(e.outbox(t))

	e.withdraw(t, childrenPat, a, "cns_A000000000001", "local-reporting")
	e.withdraw(t, childrenPat, a, "cns_A000000000001", "cross-service-linkage")
	if e.subject(t, a).PersonID == "" || len(e.since(t, n)) != 0 {
		t.Fatal("unlinked while another consent still gives cross-service-linkage")
	}
	boom := errors.New("the consumer's batch failed")
	err := e.st.Do(ctx, func(tx app.Tx) error {
		if err := e.app.ApplyConsentWithdrawn(ctx, tx, app.ConsentWithdrawn{ConsentID: "cns_A000000000002", OrganisationID: childrenPat.Organisation, SubjectRef: a, Scopes: []string{"cross-service-linkage"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || e.subject(t, a).PersonID == "" || len(e.since(t, n)) != 0 {
		t.Fatal("a rolled-back withdrawal left a change or an announcement behind")
	}
	e.withdraw(t, childrenPat, a, "cns_A000000000002", "cross-service-linkage")
	got := e.since(t, n)
	if len(got) != 1 || got[0].Type != apispecs.TypeSubjectUnlinked || got[0].Key != a || got[0].Payload["reason"] != "consent-withdrawn" || got[0].Payload["person_key"] != nil {
		t.Fatalf("announcements %+v", got)
	}
	if e.subject(t, a).PersonID != "" || e.subject(t, b).PersonID == "" {
		t.Fatal("the withdrawing subject must be unlinked, the other kept")
	}
	// Another organisation cannot withdraw (or erase) this subject.
	err = e.st.Do(ctx, func(tx app.Tx) error {
		return e.app.ApplyConsentWithdrawn(ctx, tx, app.ConsentWithdrawn{ConsentID: "cns_B000000000001", OrganisationID: childrenPat.Organisation, SubjectRef: b, Scopes: []string{"cross-service-linkage"}})
	})
	if !errors.Is(err, app.ErrWrongOrganisation) || e.subject(t, b).PersonID == "" {
		t.Fatalf("cross-organisation withdrawal: %v", err)
	}
}

func TestLapsedConsentIsSweptAndUnlinked(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	eighteen := time.Date(2025, 11, 23, 0, 0, 0, 0, time.UTC)
	e.consent(t, childrenPat, a, "cns_A000000000001", &eighteen, "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	if e.subject(t, a).PersonID == "" {
		t.Fatal("not linked before the lapse")
	}
	if n, err := e.app.SweepLapsedConsents(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before the lapse: %d %v", n, err)
	}
	n := len(e.outbox(t))
	e.now = eighteen.Add(time.Second)
	if n, err := e.app.SweepLapsedConsents(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the lapse: %d %v", n, err)
	}
	got := e.since(t, n)
	if len(got) != 1 || got[0].Key != a || got[0].Payload["reason"] != "consent-lapsed" {
		t.Fatalf("announcements %+v", got)
	}
}

// Erasure shreds: afterwards nothing, not even every KEK, opens the entry,
// and the raw database file no longer holds the wrapped key or ciphertext.
func TestErasureShredsTheVaultEntry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))
	entry := func() vault.Sealed {
		var s vault.Sealed
		if err := e.st.Do(ctx, func(tx app.Tx) error { var err error; s, err = tx.VaultEntry(a); return err }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := entry()
	moved := person("NB-1")
	moved.Postcode = "M1 1AE"
	e.register(t, childrenPat, moved) // the entry is replaced: its first version must go too
	before := entry()
	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "cross-service-linkage", "transition-sharing")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	n := len(e.outbox(t))
	erase := func() error {
		return e.st.Do(ctx, func(tx app.Tx) error {
			return e.app.ApplyErasure(ctx, tx, app.ErasureRequested{OrganisationID: childrenPat.Organisation, SubjectRef: a})
		})
	}
	if err := erase(); err != nil {
		t.Fatal(err)
	}
	got := e.since(t, n)
	if len(got) != 2 || got[0].Type != apispecs.TypeSubjectUnlinked || got[0].Payload["reason"] != "erasure" || got[1].Type != apispecs.TypeSubjectErased || got[1].Key != a {
		t.Fatalf("announcements %+v", got)
	}
	if err := erase(); err != nil || len(e.since(t, n)) != 2 {
		t.Fatalf("a repeated erasure changed something: %v", err)
	}
	if _, err := e.app.Identifiers(ctx, a); !errors.Is(err, domain.ErrErased) {
		t.Fatalf("Identifiers after erasure: %v", err)
	}
	err := e.st.Do(ctx, func(tx app.Tx) error { _, err := tx.VaultEntry(a); return err })
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("vault entry after erasure: %v", err)
	}
	// What an attacker might still hold (the ciphertext, e.g. from a copy of
	// that column) opens with no configured key.
	if _, err := e.keys.Vault.Open(a, vault.Sealed{KEKVersion: before.KEKVersion, Ciphertext: before.Ciphertext}); err == nil {
		t.Fatal("the ciphertext opened without its data key")
	}
	s := e.subject(t, a)
	if !s.Erased() || s.PersonID != "" || s.LocalDigest != "" || s.NHSDigest != "" {
		t.Fatalf("tombstone %+v", s)
	}
	var grants, vaultRows int64
	e.db.Table("consent_grants").Where("subject_ref = ?", a).Count(&grants)
	e.db.Table("vault_entries").Where("subject_ref = ?", a).Count(&vaultRows)
	if grants != 0 || vaultRows != 0 {
		t.Fatalf("the erased subject keeps %d consent grants and %d vault rows", grants, vaultRows)
	}
	if _, err := e.app.PersonKey(ctx, service, a, "transition-journey"); !errors.Is(err, domain.ErrErased) {
		t.Fatalf("person key of an erased subject: %v", err)
	}
	// The freed pages were overwritten (secure_delete) and, after a
	// checkpoint, the database files hold neither blob. (PostgreSQL keeps
	// dead rows until VACUUM; the file check is SQLite's.)
	if storage.Dialect(e.db) != storage.DialectSQLite {
		t.Log("raw file check skipped: it reads SQLite files and this run uses " + storage.Dialect(e.db))
	} else {
		assertFilesLack(t, e, first, before)
	}
	// The same local id can be registered again: a new entry, a new start.
	if again := e.register(t, childrenPat, person("NB-1")); again != a || e.subject(t, a).Erased() {
		t.Fatal("re-registration after erasure")
	}
}

func assertFilesLack(t *testing.T, e *env, entries ...vault.Sealed) {
	t.Helper()
	if err := e.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		t.Fatal(err)
	}
	files := dbFiles(t, e)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range entries {
			if bytes.Contains(raw, s.WrappedKey[13:]) || bytes.Contains(raw, s.Ciphertext[13:45]) {
				t.Fatalf("%s still holds the bytes of version %d of the shredded entry", filepath.Base(f), i+1)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no database files found: the check read nothing")
	}
}

func TestJourneyLookupsAreAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tom := app.Caller{Organisation: "org_children_demo", Subject: "tom", Roles: []string{"transition"}}
	a := e.register(t, childrenPat, person("NB-1"))
	b := e.register(t, adult, person("AD-1"))

	if ref, err := e.app.ResolveSubject(ctx, tom, " NB-1 "); err != nil || ref != a {
		t.Fatalf("resolve own: %s %v", ref, err)
	}
	tomAdult := tom
	tomAdult.Organisation = "org_adult_demo"
	if _, err := e.app.ResolveSubject(ctx, tomAdult, "NB-1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation's local id: %v", err)
	}
	if _, err := e.app.PersonKey(ctx, service, a, "curiosity"); err == nil {
		t.Fatal("unknown purpose accepted")
	}
	if _, err := e.app.PersonKey(ctx, service, a, "transition-journey"); !errors.Is(err, domain.ErrNoConsent) {
		t.Fatalf("without transition-sharing: %v", err)
	}
	e.consent(t, childrenPat, a, "cns_A000000000001", nil, "transition-sharing")
	if _, err := e.app.PersonKey(ctx, service, a, "transition-journey"); !errors.Is(err, domain.ErrNotLinked) {
		t.Fatalf("not linked: %v", err)
	}
	e.consent(t, childrenPat, a, "cns_A000000000002", nil, "cross-service-linkage")
	e.consent(t, adult, b, "cns_B000000000001", nil, "cross-service-linkage")
	key, err := e.app.PersonKey(ctx, service, a, "transition-journey")
	if err != nil || key != e.keys.Reporting.Key(e.subject(t, a).PersonID) {
		t.Fatalf("person key %s %v", key, err)
	}
	if _, err := e.app.PersonKey(ctx, service, "sub_nobodyAAAAAAAAAAAAAAAAAAAAAAAAA", "operations"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown subject: %v", err)
	}
	log, err := e.st.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, l := range log {
		outcomes = append(outcomes, l.Action+" "+l.Outcome)
		if l.At.IsZero() || l.Actor == "" || l.ActorOrganisation == "" || l.Purpose == "" {
			t.Fatalf("incomplete audit row %+v", l)
		}
	}
	want := []string{"subject-resolve disclosed", "subject-resolve not-found", "person-key-lookup no-consent",
		"person-key-lookup not-linked", "person-key-lookup disclosed", "person-key-lookup not-found"}
	if !slices.Equal(outcomes, want) {
		t.Fatalf("audit log %v\nwant %v", outcomes, want)
	}
	if log[0].SubjectRef != a || log[0].Actor != "tom" || log[4].Purpose != "transition-journey" || log[4].Actor != "poet-service" {
		t.Fatalf("audit rows %+v", log)
	}
}

func dbFiles(t *testing.T, e *env) []string {
	t.Helper()
	var list []struct {
		Seq  int
		Name string
		File string
	}
	if err := e.db.Raw("PRAGMA database_list").Scan(&list).Error; err != nil || len(list) == 0 || list[0].File == "" {
		t.Fatalf("database files: %v %+v", err, list)
	}
	files, _ := filepath.Glob(list[0].File + "*")
	return files
}
