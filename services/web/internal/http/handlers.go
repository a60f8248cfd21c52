// Package http renders the web front end's pages on the server.
package http

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

//go:embed templates/*.html
var templates embed.FS

// Register mounts the pages on r.
func Register(r *gin.Engine, a *app.Service) {
	tmpl := template.Must(template.ParseFS(templates, "templates/*.html"))
	r.SetHTMLTemplate(tmpl)
	r.GET("/", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		st := a.Status(ctx)
		code := http.StatusOK
		if !domain.AllReady(st) {
			code = http.StatusServiceUnavailable
		}
		c.Header("Cache-Control", "no-store")
		c.HTML(code, "index.html", gin.H{"Parts": st, "AllReady": domain.AllReady(st)})
	})
}

// HTTPProber asks each part's /readyz.
type HTTPProber struct{ Client *http.Client }

// Ready implements app.Prober.
func (p HTTPProber) Ready(ctx context.Context, part domain.Part) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, part.URL+"/readyz", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return false, "not answering"
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("not ready (%d)", resp.StatusCode)
	}
	return true, "ready"
}
