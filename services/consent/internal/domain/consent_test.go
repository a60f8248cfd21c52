package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

const ref = "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"

func decision() Decision {
	return Decision{SubjectRef: ref, Scopes: []Scope{ScopeLocalReporting, ScopeParticipation},
		GivenBy: GivenByParentCarer, Method: MethodPaper, PolicyVersion: "2025-01"}
}

func TestValidDecision(t *testing.T) {
	past := now.AddDate(0, 0, -7)
	d := decision()
	d.EffectiveAt = &past
	if errs := d.Validate(now); len(errs) != 0 {
		t.Fatalf("valid decision refused: %v", errs)
	}
	soon := now.Add(4 * time.Minute) // within clock skew
	d.EffectiveAt = &soon
	if errs := d.Validate(now); len(errs) != 0 {
		t.Fatalf("effective a few minutes ahead refused: %v", errs)
	}
}

func TestNoToParticipationIsRefused(t *testing.T) {
	d := decision()
	d.Scopes = []Scope{ScopeLocalReporting, ScopeNationalBenchmarking}
	if !d.Refuses() {
		t.Fatal("decision without participation must be a no")
	}
	errs := d.Validate(now)
	if len(errs) != 1 || errs[0].Pointer != "/scopes" || errs[0].Reason != NoParticipation {
		t.Fatalf("errors %+v, want the no-participation explanation at /scopes", errs)
	}
	if !strings.Contains(NoParticipation, "stores nothing") {
		t.Fatal("the explanation must say that a no stores nothing")
	}
}

func TestDecisionFieldErrors(t *testing.T) {
	future := now.Add(time.Hour)
	cases := map[string]struct {
		change func(*Decision)
		ptr    string
	}{
		"subject ref shape":   {func(d *Decision) { d.SubjectRef = "NHS 943 476 5919" }, "/subject_ref"},
		"subject ref short":   {func(d *Decision) { d.SubjectRef = "sub_abc" }, "/subject_ref"},
		"no scopes":           {func(d *Decision) { d.Scopes = nil }, "/scopes"},
		"unknown scope":       {func(d *Decision) { d.Scopes = []Scope{ScopeParticipation, "marketing"} }, "/scopes/1"},
		"scope twice":         {func(d *Decision) { d.Scopes = []Scope{ScopeParticipation, ScopeParticipation} }, "/scopes/1"},
		"given by":            {func(d *Decision) { d.GivenBy = "neighbour" }, "/given_by"},
		"method":              {func(d *Decision) { d.Method = "email" }, "/method"},
		"policy missing":      {func(d *Decision) { d.PolicyVersion = " " }, "/policy_version"},
		"policy too long":     {func(d *Decision) { d.PolicyVersion = strings.Repeat("v", 41) }, "/policy_version"},
		"effective in future": {func(d *Decision) { d.EffectiveAt = &future }, "/effective_at"},
	}
	for name, c := range cases {
		d := decision()
		c.change(&d)
		errs := d.Validate(now)
		if len(errs) != 1 || errs[0].Pointer != c.ptr {
			t.Errorf("%s: errors %+v, want one at %s", name, errs, c.ptr)
		}
	}
}

func TestRecord(t *testing.T) {
	d := decision()
	d.Scopes = []Scope{ScopeTransitionSharing, ScopeParticipation, ScopeCrossServiceLinkage}
	c := Record("cns_1", "org_children_demo", d, now, "pat")
	wantScopes := []Scope{ScopeParticipation, ScopeCrossServiceLinkage, ScopeTransitionSharing}
	if !reflect.DeepEqual(c.Scopes, wantScopes) || c.Status != StatusActive || !c.EffectiveAt.Equal(now) || !c.RecordedAt.Equal(now) {
		t.Fatalf("record %+v", c)
	}
	want := []Change{{Sequence: 1, Action: ActionRecorded, Scopes: wantScopes, Status: StatusActive, EffectiveAt: now, RecordedAt: now, RecordedBy: "pat"}}
	if !reflect.DeepEqual(c.History, want) {
		t.Fatalf("history %+v", c.History)
	}
	paperDate := now.AddDate(0, 0, -3).In(time.FixedZone("BST", 3600))
	d.EffectiveAt = &paperDate
	if c := Record("cns_2", "org_x1", d, now, "pat"); !c.EffectiveAt.Equal(paperDate) || c.EffectiveAt.Location() != time.UTC {
		t.Fatalf("effective at %v, want the paper date in UTC", c.EffectiveAt)
	}
}

func TestWithdrawSomeThenParticipation(t *testing.T) {
	d := decision()
	d.Scopes = AllScopes
	c := Record("cns_1", "org_children_demo", d, now, "pat")

	later := now.Add(time.Hour)
	ch, ok := c.Withdraw([]Scope{ScopeTransitionSharing, ScopeNationalBenchmarking}, later, "pat")
	if !ok || !reflect.DeepEqual(ch.Scopes, []Scope{ScopeNationalBenchmarking, ScopeTransitionSharing}) || ch.Sequence != 2 || ch.Status != StatusActive {
		t.Fatalf("first withdrawal: %+v %v", ch, ok)
	}
	if !reflect.DeepEqual(c.Scopes, []Scope{ScopeParticipation, ScopeLocalReporting, ScopeCrossServiceLinkage}) || c.Status != StatusActive {
		t.Fatalf("after first withdrawal: %+v", c)
	}
	// Already withdrawn: nothing changes.
	if _, ok := c.Withdraw([]Scope{ScopeTransitionSharing}, later, "pat"); ok || len(c.History) != 2 {
		t.Fatalf("withdrawing a withdrawn scope changed the record: %+v", c.History)
	}
	// Participation takes every remaining scope with it.
	end := later.Add(time.Hour)
	ch, ok = c.Withdraw([]Scope{ScopeParticipation}, end, "ana")
	if !ok || !reflect.DeepEqual(ch.Scopes, []Scope{ScopeParticipation, ScopeLocalReporting, ScopeCrossServiceLinkage}) || ch.Status != StatusWithdrawn {
		t.Fatalf("withdrawing participation: %+v", ch)
	}
	if len(c.Scopes) != 0 || c.Scopes == nil || c.Status != StatusWithdrawn || !c.UpdatedAt.Equal(end) || len(c.History) != 3 {
		t.Fatalf("after withdrawing participation: %+v", c)
	}
	// History is kept in order, the first entry untouched.
	if c.History[0].Action != ActionRecorded || len(c.History[0].Scopes) != 5 || c.History[2].RecordedBy != "ana" {
		t.Fatalf("history %+v", c.History)
	}
	if _, ok := c.Withdraw(AllScopes, end, "pat"); ok {
		t.Fatal("a withdrawn consent changed again")
	}
}

func TestWithdrawingEveryScopeButParticipationKeepsItActive(t *testing.T) {
	c := Record("cns_1", "org_children_demo", decision(), now, "pat")
	if _, ok := c.Withdraw([]Scope{ScopeLocalReporting}, now, "pat"); !ok {
		t.Fatal("no change")
	}
	if c.Status != StatusActive || !reflect.DeepEqual(c.Scopes, []Scope{ScopeParticipation}) {
		t.Fatalf("%+v", c)
	}
}

func date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

func TestLapseTimeIsMidnightInTheUK(t *testing.T) {
	cases := map[time.Time]time.Time{
		*date(2026, 1, 15): time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),  // GMT
		*date(2026, 7, 1):  time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC), // BST
		*date(2028, 2, 29): time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC),  // leap day
	}
	for in, want := range cases {
		if got := LapseTime(in); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("LapseTime(%s) = %s, want %s", in.Format(time.DateOnly), got, want)
		}
	}
}

func TestTurns18Validation(t *testing.T) {
	parent := func(turns18 *time.Time, scopes ...Scope) Decision {
		d := decision()
		d.SubjectTurns18On = turns18
		if scopes != nil {
			d.Scopes = scopes
		}
		return d
	}
	ok := []Decision{
		parent(date(2030, 5, 1), AllScopes...),
		parent(nil, AllScopes...),
		// Already 18, but nothing that lapses is asked for.
		parent(date(2020, 5, 1), ScopeParticipation, ScopeLocalReporting),
	}
	for i, d := range ok {
		if errs := d.Validate(now); len(errs) != 0 {
			t.Errorf("case %d refused: %v", i, errs)
		}
	}
	bad := map[string]Decision{
		"given by self":         func() Decision { d := parent(date(2030, 5, 1), AllScopes...); d.GivenBy = GivenBySelf; return d }(),
		"already 18":            parent(date(2025, 3, 4), AllScopes...), // the birthday started this morning
		"more than 18 years":    parent(date(2043, 3, 6), AllScopes...),
		"given by practitioner": func() Decision { d := parent(date(2030, 5, 1)); d.GivenBy = GivenByPractitionerOnBehalf; return d }(),
	}
	for name, d := range bad {
		errs := d.Validate(now)
		if len(errs) != 1 || errs[0].Pointer != "/subject_turns_18_on" {
			t.Errorf("%s: %+v, want one error at /subject_turns_18_on", name, errs)
		}
	}
}

func TestRecordKeepsOnlyTheLapseTime(t *testing.T) {
	d := decision()
	d.Scopes = AllScopes
	d.SubjectTurns18On = date(2026, 1, 15)
	c := Record("cns_1", "org_children_demo", d, now, "pat")
	if c.LapsesAt == nil || !c.LapsesAt.Equal(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)) || c.LapsedAt != nil {
		t.Fatalf("lapses at %v lapsed %v", c.LapsesAt, c.LapsedAt)
	}
	// Nothing that lapses: no lapse.
	d.Scopes = []Scope{ScopeParticipation, ScopeLocalReporting}
	if c := Record("cns_2", "org_children_demo", d, now, "pat"); c.LapsesAt != nil {
		t.Fatalf("lapse without a lapsing scope: %v", c.LapsesAt)
	}
}

func TestLapse(t *testing.T) {
	d := decision()
	d.Scopes = AllScopes
	d.SubjectTurns18On = date(2026, 1, 15)
	c := Record("cns_1", "org_children_demo", d, now, "pat")
	// The day before: nothing is due.
	before := time.Date(2026, 1, 14, 23, 59, 59, 0, time.UTC)
	if c.LapseDue(before) {
		t.Fatal("due before the birthday")
	}
	if _, ok := c.Lapse(before); ok || c.LapsedAt != nil {
		t.Fatal("lapsed before the birthday")
	}
	sweep := time.Date(2026, 1, 15, 0, 10, 0, 0, time.UTC)
	if !c.LapseDue(sweep) {
		t.Fatal("not due on the birthday")
	}
	ch, ok := c.Lapse(sweep)
	want := Change{Sequence: 2, Action: ActionWithdrawn, Scopes: []Scope{ScopeCrossServiceLinkage, ScopeTransitionSharing}, Status: StatusActive,
		EffectiveAt: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), RecordedAt: sweep, RecordedBy: LapseSweeper, Reason: ReasonLapsedAt18}
	if !ok || !reflect.DeepEqual(ch, want) {
		t.Fatalf("lapse %+v, want %+v", ch, want)
	}
	if !reflect.DeepEqual(c.Scopes, []Scope{ScopeParticipation, ScopeLocalReporting, ScopeNationalBenchmarking}) || c.LapsedAt == nil || !c.LapsedAt.Equal(sweep) {
		t.Fatalf("after the lapse %+v", c)
	}
	if c.LapseDue(sweep.Add(time.Hour)) {
		t.Fatal("a lapse applies once")
	}

	// Linkage withdrawn by hand before the birthday: the lapse finds
	// nothing to withdraw, changes no history, but is marked done.
	c = Record("cns_2", "org_children_demo", d, now, "pat")
	c.Withdraw(LapseScopes, now.Add(time.Hour), "pat")
	if _, ok := c.Lapse(sweep); ok || c.LapsedAt == nil || len(c.History) != 2 {
		t.Fatalf("lapse after a manual withdrawal: ok %v lapsed %v history %d", ok, c.LapsedAt, len(c.History))
	}
}
