package authn_test

import (
	"strings"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"poet.local/libs/authn"
	"poet.local/libs/testkit"
)

func TestParseIssuers(t *testing.T) {
	list, err := authn.ParseIssuers("  ")
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("blank: %v %v", list, err)
	}
	list, err = authn.ParseIssuers(`[
		{"organisation":"org_a","issuer":"https://id.a.example/realms/a","audience":"poet-api"},
		{"organisation":"org_b","issuer":"http://127.0.0.1:5556/b","audience":"poet-api","roles_claim":"realm_access.roles"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].RolesClaim != "roles" || list[1].RolesClaim != "realm_access.roles" {
		t.Fatalf("parsed %+v", list)
	}

	bad := map[string]string{
		"not json":         `{`,
		"unknown field":    `[{"organisation":"o","issuer":"https://i","audience":"a","role_claim":"x"}]`,
		"no organisation":  `[{"issuer":"https://i","audience":"a"}]`,
		"no audience":      `[{"organisation":"o","issuer":"https://i"}]`,
		"relative issuer":  `[{"organisation":"o","issuer":"/i","audience":"a"}]`,
		"bad claim path":   `[{"organisation":"o","issuer":"https://i","audience":"a","roles_claim":"a..b"}]`,
		"issuer twice":     `[{"organisation":"o","issuer":"https://i","audience":"a"},{"organisation":"p","issuer":"https://i","audience":"a"}]`,
		"org twice":        `[{"organisation":"o","issuer":"https://i","audience":"a"},{"organisation":"o","issuer":"https://j","audience":"a"}]`,
		"trailing content": `[] []`,
	}
	for name, text := range bad {
		if _, err := authn.ParseIssuers(text); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

type record struct {
	ID             uint
	OrganisationID string
	Note           string
}

func TestForOrganisation(t *testing.T) {
	db, err := gorm.Open(sqlite.Open(strings.TrimPrefix(testkit.SQLiteDSN(t), "sqlite:")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&record{}); err != nil {
		t.Fatal(err)
	}
	db.Create(&[]record{{OrganisationID: "org_a", Note: "a1"}, {OrganisationID: "org_b", Note: "b1"}, {OrganisationID: "org_a", Note: "a2"}})

	var got []record
	if err := authn.ForOrganisation(db, authn.Principal{Organisation: "org_a"}).Order("id").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Note != "a1" || got[1].Note != "a2" {
		t.Fatalf("org_a sees %+v", got)
	}
	// The scope composes with further conditions and cannot be widened by them.
	var n int64
	authn.ForOrganisation(db, authn.Principal{Organisation: "org_b"}).Model(&record{}).Where("note = ?", "a1").Count(&n)
	if n != 0 {
		t.Fatalf("org_b counted %d of org_a's rows", n)
	}
	// The base handle is not polluted by an earlier scope.
	var all int64
	db.Model(&record{}).Count(&all)
	if all != 3 {
		t.Fatalf("base db counts %d rows", all)
	}
}
