package main

import "testing"

// The callback address defaults to what tools/stack registers at devoidc
// (http://127.0.0.1:<port>/auth/callback) and otherwise must be absolute.
func TestPublicURL(t *testing.T) {
	for _, c := range []struct{ configured, addr, want string }{
		{"", "127.0.0.1:16080", "http://127.0.0.1:16080"},
		{"", ":8080", "http://127.0.0.1:8080"},
		{"", "0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"https://poet.example/", ":8080", "https://poet.example"},
	} {
		got, err := publicURL(c.configured, c.addr)
		if err != nil || got != c.want {
			t.Errorf("publicURL(%q, %q) = %q, %v; want %q", c.configured, c.addr, got, err, c.want)
		}
	}
	if _, err := publicURL("poet.example", ":8080"); err == nil {
		t.Error("a relative WEB_PUBLIC_URL was accepted")
	}
}
