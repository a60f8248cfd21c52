package domain

import (
	"reflect"
	"strings"
	"testing"
)

func validOrg() Organisation {
	return Organisation{
		ID: "org_children_demo", Name: "Northbrook Council children's services", Kind: KindLocalAuthority,
		Region: "North West", Issuer: "http://127.0.0.1:9090/children-demo", Audience: "poet-platform",
		Sites: []Site{{ID: "site_children_demo", Name: "Children's", ServiceLine: ServiceLineChildren}},
	}
}

func TestNormalise(t *testing.T) {
	o := Organisation{ID: " org_x1 ", Name: " X ", Kind: KindProvider, Region: " R ", Issuer: " https://x.example/realms/x ", Audience: " a ",
		Sites: []Site{{ID: "site_b2", Name: " B ", ServiceLine: ServiceLineAdult}, {ID: "site_a1", Name: "A", ServiceLine: ServiceLineHealth}}}
	got := o.Normalise()
	want := Organisation{ID: "org_x1", Name: "X", Kind: KindProvider, Region: "R", Issuer: "https://x.example/realms/x", Audience: "a", RolesClaim: "roles",
		Sites: []Site{{ID: "site_a1", OrganisationID: "org_x1", Name: "A", ServiceLine: ServiceLineHealth}, {ID: "site_b2", OrganisationID: "org_x1", Name: "B", ServiceLine: ServiceLineAdult}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Normalise:\n got %+v\nwant %+v", got, want)
	}
	if o.Sites[0].ID != "site_b2" {
		t.Error("Normalise must not reorder the caller's sites")
	}
}

func TestValidateAcceptsDemoShapes(t *testing.T) {
	if errs := validOrg().Normalise().Validate(); len(errs) != 0 {
		t.Fatalf("valid organisation refused: %v", errs)
	}
	national := Organisation{ID: "org_national_demo", Name: "National POET team", Kind: KindNationalTeam, Region: "England",
		Issuer: "https://login.example/realms/national", Audience: "poet-platform", RolesClaim: "realm_access.roles"}
	if errs := national.Normalise().Validate(); len(errs) != 0 {
		t.Fatalf("organisation without sites refused: %v", errs)
	}
}

func TestValidateNamesEachFailingField(t *testing.T) {
	cases := map[string]struct {
		change func(*Organisation)
		ptr    string
	}{
		"id prefix":          {func(o *Organisation) { o.ID = "children_demo" }, "/id"},
		"id capitals":        {func(o *Organisation) { o.ID = "org_Children" }, "/id"},
		"id too short":       {func(o *Organisation) { o.ID = "org_a" }, "/id"},
		"name missing":       {func(o *Organisation) { o.Name = "  " }, "/name"},
		"name too long":      {func(o *Organisation) { o.Name = strings.Repeat("n", 201) }, "/name"},
		"kind":               {func(o *Organisation) { o.Kind = "council" }, "/kind"},
		"region missing":     {func(o *Organisation) { o.Region = "" }, "/region"},
		"issuer relative":    {func(o *Organisation) { o.Issuer = "/children-demo" }, "/issuer"},
		"issuer scheme":      {func(o *Organisation) { o.Issuer = "ftp://x.example/a" }, "/issuer"},
		"issuer query":       {func(o *Organisation) { o.Issuer = "https://x.example/a?b=c" }, "/issuer"},
		"issuer credentials": {func(o *Organisation) { o.Issuer = "https://u:p@x.example/a" }, "/issuer"},
		"audience missing":   {func(o *Organisation) { o.Audience = "" }, "/audience"},
		"roles claim path":   {func(o *Organisation) { o.RolesClaim = "realm_access..roles" }, "/roles_claim"},
		"site id":            {func(o *Organisation) { o.Sites[0].ID = "children" }, "/sites/0/id"},
		"site name":          {func(o *Organisation) { o.Sites[0].Name = "" }, "/sites/0/name"},
		"site service line":  {func(o *Organisation) { o.Sites[0].ServiceLine = "education" }, "/sites/0/service_line"},
		"site twice": {func(o *Organisation) {
			o.Sites = append(o.Sites, o.Sites[0])
		}, "/sites/1/id"},
	}
	for name, c := range cases {
		o := validOrg()
		c.change(&o)
		errs := o.Normalise().Validate()
		if len(errs) != 1 || errs[0].Pointer != c.ptr || errs[0].Reason == "" {
			t.Errorf("%s: errors %+v, want exactly one at %s", name, errs, c.ptr)
		}
	}
}

func TestSameStateIgnoresTimesAndOrder(t *testing.T) {
	a := validOrg()
	a.Sites = append(a.Sites, Site{ID: "site_a0", Name: "Zero", ServiceLine: ServiceLineAdult})
	b := a
	b.Sites = []Site{a.Sites[1], a.Sites[0]}
	a, b = a.Normalise(), b.Normalise()
	b.UpdatedAt = b.UpdatedAt.AddDate(1, 0, 0)
	if !SameState(a, b) {
		t.Fatal("same registration in another order must be the same state")
	}
	for name, change := range map[string]func(*Organisation){
		"name":        func(o *Organisation) { o.Name += "!" },
		"issuer":      func(o *Organisation) { o.Issuer += "x" },
		"roles claim": func(o *Organisation) { o.RolesClaim = "groups" },
		"site name":   func(o *Organisation) { o.Sites = append([]Site(nil), o.Sites...); o.Sites[0].Name = "Other" },
		"extra site":  func(o *Organisation) { o.Sites = append(append([]Site(nil), o.Sites...), Site{ID: "site_z9"}) },
	} {
		c := b
		change(&c)
		if SameState(a, c) {
			t.Errorf("%s changed but SameState is true", name)
		}
	}
}

func TestMissingSites(t *testing.T) {
	prev := Organisation{Sites: []Site{{ID: "site_a1"}, {ID: "site_b2"}}}
	next := Organisation{Sites: []Site{{ID: "site_b2"}, {ID: "site_c3"}}}
	if got := MissingSites(prev, next); !reflect.DeepEqual(got, []string{"site_a1"}) {
		t.Fatalf("MissingSites = %v, want [site_a1]", got)
	}
	if got := MissingSites(next, next); len(got) != 0 {
		t.Fatalf("MissingSites of same = %v", got)
	}
}
