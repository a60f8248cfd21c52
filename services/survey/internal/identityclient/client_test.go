package identityclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"poet.local/libs/authn"
	"poet.local/libs/testkit"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/identityclient"
	"poet.local/services/survey/internal/identityclient/identitytest"
)

func setup(t *testing.T) (*identitytest.Server, func(slug, user string) string) {
	t.Helper()
	oidc := testkit.OIDC(t, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	id := identitytest.Start(authn.NewVerifier(issuers))
	t.Cleanup(id.Close)
	return id, func(slug, user string) string {
		tok, err := oidc.Mint(slug, user)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

var refPattern = regexp.MustCompile(`^sub_[0-9A-Za-z_-]{32}$`)

func TestSubjectRefIsIdentitysAnswerForTheCallersOrganisation(t *testing.T) {
	id, mint := setup(t)
	c := identityclient.New(id.URL, nil)
	ctx := context.Background()
	ref, err := c.SubjectRef(ctx, mint("children-demo", "pat"), "  LOCAL-42 ")
	if err != nil {
		t.Fatal(err)
	}
	if !refPattern.MatchString(ref) || ref != id.Ref("org_children_demo", "LOCAL-42") {
		t.Fatalf("ref %q, want the children organisation's reference for LOCAL-42", ref)
	}
	again, err := c.SubjectRef(ctx, mint("children-demo", "pat"), "LOCAL-42")
	if err != nil || again != ref {
		t.Fatalf("same person again: %q %v, want %q", again, err, ref)
	}
	// Another organisation's same local id is another subject.
	other, err := c.SubjectRef(ctx, mint("adult-demo", "pat"), "LOCAL-42")
	if err != nil || other == ref {
		t.Fatalf("adult organisation: %q %v", other, err)
	}
}

func TestRefusalsAndRejectionsAreTold(t *testing.T) {
	id, mint := setup(t)
	c := identityclient.New(id.URL, nil)
	ctx := context.Background()
	if _, err := c.SubjectRef(ctx, mint("children-demo", "ana"), "LOCAL-42"); !errors.Is(err, app.ErrIdentityRefused) {
		t.Fatalf("analyst token: %v, want refused", err)
	}
	if _, err := c.SubjectRef(ctx, "not-a-token", "LOCAL-42"); !errors.Is(err, app.ErrIdentityRefused) {
		t.Fatalf("junk token: %v, want refused", err)
	}
	long := strings.Repeat("x", 201)
	_, err := c.SubjectRef(ctx, mint("children-demo", "pat"), long)
	if !errors.Is(err, app.ErrLocalIDRejected) {
		t.Fatalf("201-character id: %v, want rejected", err)
	}
	if strings.Contains(err.Error(), long) {
		t.Fatal("the error repeats the local id")
	}
}

func TestTransientFailuresAreRetriedOnceThenUnavailable(t *testing.T) {
	id, mint := setup(t)
	c := identityclient.New(id.URL, nil)
	ctx := context.Background()
	tok := mint("children-demo", "pat")

	id.FailNext(http.StatusServiceUnavailable)
	before := id.Calls()
	if ref, err := c.SubjectRef(ctx, tok, "LOCAL-7"); err != nil || !refPattern.MatchString(ref) {
		t.Fatalf("one 503 then success: %q %v", ref, err)
	}
	if n := id.Calls() - before; n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}

	id.FailNext(http.StatusBadGateway, http.StatusServiceUnavailable)
	if _, err := c.SubjectRef(ctx, tok, "LOCAL-7"); !errors.Is(err, app.ErrIdentityUnavailable) {
		t.Fatalf("two failures: %v, want unavailable", err)
	}

	id.Close()
	start := time.Now()
	_, err := c.SubjectRef(ctx, tok, "LOCAL-SECRET-99")
	if !errors.Is(err, app.ErrIdentityUnavailable) {
		t.Fatalf("identity down: %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), "LOCAL-SECRET-99") {
		t.Fatal("the error repeats the local id")
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("an unreachable identity took too long to report")
	}
}

func TestAnAnswerThatIsNotASubjectReferenceIsNotTrusted(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":     `<html>`,
		"no reference": `{}`,
		"wrong shape":  `{"subject_ref":"LOCAL-1"}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		_, err := identityclient.New(srv.URL, nil).SubjectRef(context.Background(), "t", "LOCAL-1")
		srv.Close()
		if !errors.Is(err, app.ErrIdentityUnavailable) {
			t.Errorf("%s: %v, want unavailable", name, err)
		}
	}
}
