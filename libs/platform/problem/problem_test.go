package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, target string, h gin.HandlerFunc) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.GET("/v1/things/:id", h, func(c *gin.Context) { c.Status(http.StatusTeapot) })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return w, body
}

func TestWriteSetsMediaTypeInstanceAndAborts(t *testing.T) {
	w, body := serve(t, "/v1/things/7?token=secret", func(c *gin.Context) {
		Write(c, New(http.StatusNotFound, "No such thing."))
	})
	assert.Equal(t, http.StatusNotFound, w.Code, "the chain was aborted")
	assert.Equal(t, ContentType, w.Header().Get("Content-Type"))
	assert.Equal(t, map[string]any{
		"type": "about:blank", "title": "Not Found", "status": float64(404),
		"detail": "No such thing.", "instance": "/v1/things/7",
	}, body)
}

func TestWriteFillsMissingTypeAndTitle(t *testing.T) {
	_, body := serve(t, "/v1/things/7", func(c *gin.Context) {
		Write(c, Problem{Status: http.StatusConflict})
	})
	assert.Equal(t, "about:blank", body["type"])
	assert.Equal(t, "Conflict", body["title"])
	assert.NotContains(t, body, "detail")
	assert.NotContains(t, body, "errors")
}

func TestValidationListsFields(t *testing.T) {
	p := Validation("Check the answers.", FieldError{Pointer: "/answers/0", Reason: "Choose one option."})
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	w, body := serve(t, "/v1/things/7", func(c *gin.Context) { Write(c, p) })
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	assert.Equal(t, []any{map[string]any{"pointer": "/answers/0", "reason": "Choose one option."}}, body["errors"])
	assert.Equal(t, "Your request has problems: Check the answers.", p.Error())
	assert.Equal(t, "Not Found", New(http.StatusNotFound, "").Error())
}
