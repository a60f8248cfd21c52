package devoidc

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginTmpl is the whole sign-in UI: one button per demo user, no password.
var loginTmpl = template.Must(template.New("login").Funcs(template.FuncMap{"join": strings.Join}).Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {{.Org}} (development)</title></head>
<body>
<main>
<h1>Sign in to {{.Org}} (development)</h1>
<p>This is a development sign-in service: there are no passwords. Choose a demo user.</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<ul>
{{range .Users}}<li><button type="submit" name="username" value="{{.Username}}">{{.Name}} ({{join .Roles ", "}})</button></li>
{{end}}</ul>
</form>
</main>
</body>
</html>
`))

type loginView struct {
	Org, Action, ID, Error string
	Users                  []User
}

func (oi *orgIssuer) renderLogin(w http.ResponseWriter, status int, id, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginTmpl.Execute(w, loginView{
		Org: oi.store.org.Name, Action: "/" + oi.store.org.Slug + "/login", ID: id, Error: errMsg,
		Users: oi.store.org.Users,
	})
}

// loginPage is where the authorize endpoint sends the browser (Client.LoginURL).
func (oi *orgIssuer) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if _, ok := oi.store.authRequest(id); !ok {
		http.Error(w, "This sign-in request is unknown or has expired. Start again from the application.", http.StatusBadRequest)
		return
	}
	oi.renderLogin(w, http.StatusOK, id, "")
}

// login completes the auth request for the chosen user and hands the browser
// back to the op library's callback, which issues the code.
func (oi *orgIssuer) login(w http.ResponseWriter, r *http.Request) {
	id, username := r.PostFormValue("id"), r.PostFormValue("username")
	if err := oi.store.completeLogin(id, username); err != nil {
		if _, ok := oi.store.authRequest(id); !ok {
			http.Error(w, "This sign-in request is unknown or has expired. Start again from the application.", http.StatusBadRequest)
			return
		}
		oi.renderLogin(w, http.StatusBadRequest, id, "Choose one of the users below.")
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), oi.issuer)
	http.Redirect(w, r, op.AuthCallbackURL(oi.provider)(ctx, id), http.StatusFound)
}

func (oi *orgIssuer) loggedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("You have signed out of " + oi.store.org.Name + " (development).\n"))
}
